"""`make admin` (deploy/aws/admin.py) against the local stack: create, then reset, an admin login that works.

Belongs with the deploy tools (deploy/README.md, "Admin logins"); lives here for the `stack` fixture."""
import json
from pathlib import Path
from typing import Any, Dict

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from deploy.aws import admin

pytestmark = pytest.mark.integration


def _login(stack: Any, email: str, password: str) -> Dict[str, Any]:
    outputs = stack.outputs
    cognito = boto3.client("cognito-idp", region_name=outputs.get("Region", "us-east-1"),
                           endpoint_url=outputs["CognitoEndpointUrl"])
    return cognito.initiate_auth(ClientId=outputs["users"]["UserPoolClient"], AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]


def test_admin_login_is_created_then_reset(stack: Any, local_stack_only: None, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    """Local stack only: against a deployed stage it would leave a real admin login behind."""
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(stack.outputs))
    email = f"admin-tool-{tmp_path.name[-12:].lower()}@example.com"

    assert admin.main(["--email", email, "--stage", "local", "--outputs", str(outputs_file)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Created admin")
    password = printed.split("Password: ", 1)[1].splitlines()[0]
    assert "initiate-auth" in printed and stack.outputs["CognitoEndpointUrl"] in printed

    token = _login(stack, email, password)["IdToken"]
    listing = requests.get(stack.users_url + "/users", headers={"Authorization": token}, timeout=10)
    assert listing.status_code == 200  # only admins may list users

    assert admin.main(["--email", email, "--stage", "local", "--outputs", str(outputs_file),
                       "--password", "N3w-Passw0rd!x"]) == 0
    assert capsys.readouterr().out.startswith("Reset admin")
    with pytest.raises(ClientError) as old_password:
        _login(stack, email, password)
    assert old_password.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert _login(stack, email, "N3w-Passw0rd!x")["IdToken"]
