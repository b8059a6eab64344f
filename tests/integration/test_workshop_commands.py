"""The workshop README's own commands (steps 3 and 4), as written, against the local stage.

With the export lines `make dev` prints, the AWS CLI and curl reach the local stack: the workshop's
`admin-create-user` / `admin-add-user-to-group` / `admin-set-user-password`, its `describe-stacks --query`
for `UserPool`, `UserPoolClient` and `APIEndpoint`, its `initiate-auth` and its `curl ... Bearer $TOKEN`
run unchanged. The script below is the README's shell lines copied verbatim, `<stack-name>` replaced by
the local users stack's name and nothing else changed; it runs with bash, the AWS CLI from .venv and curl,
against a stack of this module's own (the code behind `make dev`, on free ports): the workshop creates
`admin@example.com`, so a second run against the same stack would fail as it does in AWS.
"""
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests

from deploy.local import cfn
from deploy.local.stack import Stack, banner
from deploy.project import ROOT
from tests.support.stack import StackHandle, handle_for, start_local_stack

pytestmark = pytest.mark.integration

WORKSHOP_STEPS_3_AND_4 = r"""
# Get outputs from deployment
USER_POOL_ID=$(aws cloudformation describe-stacks --stack-name <stack-name> --query 'Stacks[0].Outputs[?OutputKey==`UserPool`].OutputValue' --output text)
CLIENT_ID=$(aws cloudformation describe-stacks --stack-name <stack-name> --query 'Stacks[0].Outputs[?OutputKey==`UserPoolClient`].OutputValue' --output text)

# Create admin user
aws cognito-idp admin-create-user \
  --user-pool-id $USER_POOL_ID \
  --username admin@example.com \
  --user-attributes Name=email,Value=admin@example.com \
  --temporary-password TempPass123! \
  --message-action SUPPRESS

# Add to admin group
aws cognito-idp admin-add-user-to-group \
  --user-pool-id $USER_POOL_ID \
  --username admin@example.com \
  --group-name apiAdmins

# Set permanent password
aws cognito-idp admin-set-user-password \
  --user-pool-id $USER_POOL_ID \
  --username admin@example.com \
  --password SecurePass123! \
  --permanent

# Get JWT token
TOKEN=$(aws cognito-idp initiate-auth \
  --auth-flow USER_PASSWORD_AUTH \
  --client-id $CLIENT_ID \
  --auth-parameters USERNAME=admin@example.com,PASSWORD=SecurePass123! \
  --query 'AuthenticationResult.IdToken' \
  --output text)

# Test API call
API_URL=$(aws cloudformation describe-stacks --stack-name <stack-name> --query 'Stacks[0].Outputs[?OutputKey==`APIEndpoint`].OutputValue' --output text)
curl -H "Authorization: Bearer $TOKEN" $API_URL/users
"""  # noqa: E501 - the workshop's lines, verbatim
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_local_stack(tmp_path_factory.mktemp("workshop-stack"))
    try:
        yield stack
    finally:
        stack.stop()


def exports(local: Stack) -> List[str]:
    """The banner's export lines, exactly as `make dev` prints them."""
    lines = [line.strip() for line in banner(local).splitlines() if line.strip().startswith("export ")]
    assert any(line.startswith("export AWS_ENDPOINT_URL=") for line in lines), banner(local)
    return lines


def shell_env(tmp_path: Path) -> Dict[str, str]:
    """A shell that has only what the banner tells a user to export: no AWS_* of this process, the
    AWS CLI from .venv first on PATH, no ~/.aws files, and curl reporting the status after the body
    (through its own config file, so the curl line stays as written)."""
    (tmp_path / ".curlrc").write_text('write-out = "\\nHTTP %{http_code}\\n"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_"))}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", CURL_HOME=str(tmp_path),
               AWS_CONFIG_FILE=str(tmp_path / "no-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-creds"))
    return env


def run_bash(local: Stack, tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    text = "\n".join(["set -e -o pipefail", *exports(local), script])
    return subprocess.run(["bash", "-c", text], cwd=tmp_path, env=shell_env(tmp_path), capture_output=True,
                          text=True, timeout=180)


def test_the_workshop_steps_3_and_4_run_unchanged(local: Stack, tmp_path: Path) -> None:
    handle = handle_for(local)
    someone = _create_profile(handle)
    script = WORKSHOP_STEPS_3_AND_4.replace("<stack-name>", cfn.STACK_NAMES["users"])
    done = run_bash(local, tmp_path, script)
    assert done.returncode == 0, done.stderr[-3000:]
    *body, status = done.stdout.rstrip("\n").split("\n")
    assert status == "HTTP 200", done.stdout[-2000:]
    listing = json.loads(body[-1])
    assert isinstance(listing, list) and someone in listing  # the users list: only an admin may read it


def _create_profile(handle: StackHandle) -> Dict:
    admin = handle.new_user(admin=True)
    created = requests.post(f"{handle.users_url}/users", json={"name": "Workshop Reader"},
                            headers={"Authorization": admin.id_token}, timeout=10)
    assert created.status_code == 200, created.text
    return created.json()


@pytest.mark.parametrize("section", ["users", "orders"])
def test_describe_stacks_answers_the_outputs_file(local: Stack, tmp_path: Path, section: str) -> None:
    done = run_bash(local, tmp_path, f"aws cloudformation describe-stacks --stack-name {cfn.STACK_NAMES[section]} "
                                     "--query 'Stacks[0].Outputs' --output json")
    assert done.returncode == 0, done.stderr
    outputs = {o["OutputKey"]: o["OutputValue"] for o in json.loads(done.stdout)}
    assert outputs == local.outputs[section]


def test_the_cognito_auth_command_output_works_verbatim(local: Stack, tmp_path: Path) -> None:
    user = handle_for(local).new_user()
    command = local.outputs["users"]["CognitoAuthCommand"].replace("<email>", user.email) \
        .replace("<password>", user.password)
    done = run_bash(local, tmp_path, command)
    assert done.returncode == 0, done.stderr
    answer = requests.get(f"{local.outputs['orders']['OrdersServiceEndpoint']}/orders",
                          headers={"Authorization": done.stdout.strip()}, timeout=10)
    assert answer.status_code == 200, answer.text


def test_secrets_manager_get_random_password(local: Stack, tmp_path: Path) -> None:
    done = run_bash(local, tmp_path, "aws secretsmanager get-random-password --password-length 24 "
                                     "--query RandomPassword --output text")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip()) == 24


def test_make_admin_for_the_local_stage_works_with_the_exports(local: Stack, tmp_path: Path) -> None:
    """`make admin` (STAGE=local) reads the outputs file and talks to its endpoint, exports or not;
    `make admin STAGE=dev` refuses while they point at loopback (deploy/aws/target.py)."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "outputs.json").write_text(json.dumps(local.outputs))
    for exported in (True, False):
        email = f"make-admin-{'with' if exported else 'without'}@example.com"
        prelude = "\n".join(exports(local)) if exported else ""
        made = subprocess.run(["bash", "-c", f"{prelude}\nmake --no-print-directory admin EMAIL={email}"], cwd=ROOT,
                              env={**shell_env(tmp_path), "LOCAL_STATE_DIR": str(state)}, capture_output=True,
                              text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith(f"Created admin {email}"), made.stdout
    refused = run_bash(local, tmp_path, f"cd {ROOT} && make --no-print-directory admin STAGE=dev EMAIL=a@example.com")
    assert refused.returncode != 0
    assert "points at a local emulator, not AWS" in refused.stderr and "AWS_ENDPOINT_URL_DYNAMODB" in refused.stderr
