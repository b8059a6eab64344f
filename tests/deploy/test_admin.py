"""deploy/aws/admin.py without a stack (the integration test is tests/integration/test_admin_tool.py)."""
from pathlib import Path

import pytest

from deploy.aws import admin


def test_admin_without_a_running_stack_explains(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert admin.main(["--email", "a@example.com", "--outputs", str(tmp_path / "missing.json")]) == 1
    assert "make up" in capsys.readouterr().err


def test_generated_passwords_meet_the_pool_policy() -> None:
    for _ in range(50):
        password = admin.generate_password()
        assert len(password) >= 8
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)


class _Outputs:
    """A CloudFormation client whose users stack has the given outputs."""

    def __init__(self, **outputs: str) -> None:
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803 - boto3's signature
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]}


def test_a_stack_without_the_outputs_admin_needs_is_named() -> None:
    with pytest.raises(admin.AdminError, match=r"stack serverless-patterns-users-dev in eu-west-1 has no "
                                               r"UserPool, UserPoolClient outputs"):
        admin.deployed_pool("dev", "eu-west-1", cloudformation=_Outputs(APIEndpoint="https://x/api"))
    pool = admin.deployed_pool("dev", "eu-west-1", cloudformation=_Outputs(
        APIEndpoint="https://x/api", UserPool="eu-west-1_Abc", UserPoolClient="c"))
    assert (pool.pool_id, pool.client_id, pool.group) == ("eu-west-1_Abc", "c", "apiAdmins")


def test_admin_for_a_deployed_stage_refuses_a_loopback_endpoint(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:9229")
    monkeypatch.delenv("DEPLOY_TO_EMULATOR", raising=False)
    assert admin.main(["--email", "a@example.com", "--stage", "prod"]) == 1
    assert "AWS_ENDPOINT_URL=http://localhost:9229 points at a local emulator" in capsys.readouterr().err
