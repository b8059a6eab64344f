"""What a persistent local state dir keeps across restarts, and what it does not grow with.

moto's recording (deploy/local/moto_server.py) holds the writes only: reads, JWKS fetches and logins that
only issue tokens leave it as it was, and so does a restart (the stacks' outputs are refreshed unrecorded),
while users, their `sub`s, an answered NEW_PASSWORD_REQUIRED challenge, the AWS-shaped pool and client ids
and the stacks' StackIds come back. A state dir of an older format is moved aside in one line
(deploy/local/state.py)."""
import re
import urllib.request
from pathlib import Path
from typing import Any, Dict

import boto3
import jwt
import pytest

from deploy.local import cfn, cognito, state
from deploy.local.stack import Stack
from tests.support.stack import StackHandle, start_local_stack

pytestmark = pytest.mark.integration

POOL_ID = re.compile(r"^us-east-1_[0-9A-Za-z]{9}$")
CLIENT_ID = re.compile(r"^[0-9a-z]{26}$")
READ_ROUNDS = 25


def moto_client(local: Stack, service: str) -> Any:
    return boto3.client(service, endpoint_url=local.outputs["CognitoEndpointUrl"], region_name="us-east-1")


def stack_ids(local: Stack) -> Dict[str, str]:
    client = moto_client(local, "cloudformation")
    return {name: client.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
            for name in cfn.STACK_NAMES.values()}


def read_a_lot(local: Stack, handle: StackHandle) -> None:
    """What clients do all day: describe the stacks, log in, refresh, fetch the JWKS, draw passwords."""
    cloudformation, secrets = moto_client(local, "cloudformation"), moto_client(local, "secretsmanager")
    jwks = cognito.jwks_url(local.outputs["CognitoEndpointUrl"], handle.pool_id)
    for _ in range(READ_ROUNDS):
        for name in cfn.STACK_NAMES.values():
            cloudformation.describe_stacks(StackName=name)
        tokens = cognito.login(handle.idp, handle.client_id, cognito.ADMIN_EMAIL, cognito.ADMIN_PASSWORD)
        handle.idp.initiate_auth(ClientId=handle.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]})
        handle.idp.admin_get_user(UserPoolId=handle.pool_id, Username=cognito.ADMIN_EMAIL)
        handle.idp.list_users(UserPoolId=handle.pool_id)
        secrets.get_random_password(PasswordLength=16)
        with urllib.request.urlopen(jwks, timeout=10) as answer:  # noqa: S310 - loopback
            answer.read()


def answer_new_password_challenge(handle: StackHandle, email: str) -> None:
    handle.idp.admin_create_user(UserPoolId=handle.pool_id, Username=email, TemporaryPassword="TempPass123!",
                                 MessageAction="SUPPRESS")
    challenge = handle.idp.initiate_auth(ClientId=handle.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                         AuthParameters={"USERNAME": email, "PASSWORD": "TempPass123!"})
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    handle.idp.respond_to_auth_challenge(ClientId=handle.client_id, ChallengeName="NEW_PASSWORD_REQUIRED",
                                         Session=challenge["Session"],
                                         ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": "SecurePass123!"})


def test_the_recording_keeps_writes_only_and_restarts_keep_what_it_holds(tmp_path: Path) -> None:
    dir_ = tmp_path / "state"
    recording = dir_ / "cognito-recording.jsonl"
    first = start_local_stack(dir_, persistent=True, apps=())
    try:
        handle, started = StackHandle(first.outputs), recording.stat().st_size
        read_a_lot(first, handle)
        assert recording.stat().st_size == started, "reads were recorded"
        user = handle.new_user()  # a write, after many unrecorded reads that drew random numbers
        answer_new_password_challenge(handle, "challenged@example.com")
        assert recording.stat().st_size > started
        before, ids_before, written = first.outputs, stack_ids(first), recording.stat().st_size
    finally:
        first.stop()
    second = start_local_stack(dir_, persistent=True, apps=())  # new ports
    try:
        handle = StackHandle(second.outputs)
        assert recording.stat().st_size == written, "the restart grew the recording"
        assert stack_ids(second) == ids_before
        assert (handle.pool_id, handle.client_id) == (before["users"]["UserPool"], before["users"]["UserPoolClient"])
        assert POOL_ID.match(handle.pool_id) and CLIENT_ID.match(handle.client_id)
        tokens = cognito.login(handle.idp, handle.client_id, user.email, user.password)
        assert jwt.decode(tokens["IdToken"], options={"verify_signature": False})["sub"] == user.sub
        assert cognito.login(handle.idp, handle.client_id, "challenged@example.com", "SecurePass123!")["IdToken"]
        described = {o["OutputKey"]: o["OutputValue"] for o in moto_client(second, "cloudformation").describe_stacks(
            StackName=cfn.STACK_NAMES["users"])["Stacks"][0]["Outputs"]}
        assert described == second.outputs["users"] != before["users"]  # refreshed: the login URL's port moved
    finally:
        second.stop()


def test_an_old_format_state_dir_is_moved_aside_in_one_line(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    dir_ = tmp_path / "state"
    (dir_ / "dynamodb").mkdir(parents=True)
    (dir_ / "dynamodb" / "shared-local-instance.db").write_bytes(b"old tables")
    old_recording = '{"method": "POST", "url": "http://127.0.0.1:9229/", "headers": {}, "body": ""}\n'
    (dir_ / "cognito-recording.jsonl").write_text(old_recording)
    local = start_local_stack(dir_, persistent=True, apps=())
    try:
        printed = capsys.readouterr().out.strip().splitlines()
        assert len(printed) == 1 and "moved it to" in printed[0] and "starting afresh" in printed[0], printed
        [aside] = [path for path in dir_.iterdir() if path.name.startswith("previous-v1-")]
        assert aside.name in printed[0]
        assert (aside / "cognito-recording.jsonl").read_text() == old_recording
        assert (aside / "dynamodb" / "shared-local-instance.db").read_bytes() == b"old tables"
        assert (dir_ / state.VERSION_FILE).read_text().strip() == state.STATE_VERSION
        handle = StackHandle(local.outputs)
        assert POOL_ID.match(handle.pool_id)
        assert cognito.login(handle.idp, handle.client_id, cognito.ADMIN_EMAIL, cognito.ADMIN_PASSWORD)["IdToken"]
    finally:
        local.stop()
