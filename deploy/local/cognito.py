"""The local Cognito: a user pool, app client, admin group and seeded admin in moto's server.

State survives restarts through moto's recorder (DESIGN.md §3): the pool and client ids are derived
from their names (deploy/local/moto_ids.py: AWS's shapes, same name -> same id), and every request that
changes state is recorded to a file (reads and token-only logins are not: deploy/local/moto_server.py).
After a restart `restore()` seeds moto's random generator with the same number, replays the
recording (so every user gets back the same `sub`), and only then turns recording on again. The seed
call itself must never be recorded (a replayed seed would rewind the generator and hand new users
the `sub`s of old ones), so recording is started through the API, not with MOTO_ENABLE_RECORDING.

The seeded admin is `local-admin@example.com`, not the workshop's `admin@example.com`: the workshop's
README creates that one itself (`aws cognito-idp admin-create-user`), and a seeded one would make its
first command fail with UsernameExistsException.
"""
import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

import boto3
from botocore.config import Config as BotoConfig

from deploy.project import LOCAL_STATE

REGION = "us-east-1"  # moto's, not deploy.project's: its tokens' issuer always names us-east-1 (DESIGN.md §3)
ACCOUNT_ID = "123456789012"  # moto's default account
POOL_NAME = "serverless-patterns-local"
CLIENT_NAME = "serverless-patterns-local-web"
ADMIN_EMAIL = "local-admin@example.com"
ADMIN_PASSWORD = "LocalAdmin1!"  # noqa: S105 - the local stack's seeded login, printed in the banner
SEED = 20240501
PASSWORD_POLICY = {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
                   "RequireNumbers": True, "RequireSymbols": False}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def moto_env(recording_file: Optional[Path]) -> Dict[str, str]:
    """Environment for the moto server process (recording is switched on later by `restore`). The HASH
    strategies keep moto's own id generation from drawing on its seeded random generator; the ids it
    hands out are replaced by deploy/local/moto_ids.py."""
    env = {
        "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
        "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    if recording_file is not None:
        env["MOTO_RECORDER_FILEPATH"] = str(recording_file)
    return env


def issuer(pool_id: str) -> str:
    """The `iss` moto puts in its tokens (always the AWS-style URL)."""
    return f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"


def jwks_url(endpoint: str, pool_id: str) -> str:
    return f"{endpoint}/{pool_id}/.well-known/jwks.json"


def pool_arn(pool_id: str) -> str:
    return f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{pool_id}"


def moto_client(service: str, endpoint: str, read_timeout: float = 30) -> Any:
    """A boto3 client for one of the services the local moto server answers (Cognito, CloudFormation,
    Secrets Manager): its endpoint, moto's region, the dummy credentials, no retries."""
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=BotoConfig(connect_timeout=2, read_timeout=read_timeout, retries={"max_attempts": 1}))


def idp_client(endpoint: str) -> Any:
    return moto_client("cognito-idp", endpoint)


def _moto_api(endpoint: str, path: str, timeout: float = 120.0) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/{path}", data=b"", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
        response.read()


def restore(endpoint: str, recording_file: Path) -> bool:
    """Seed, replay the recording if there is one, start recording. True if something was replayed."""
    _moto_api(endpoint, f"seed?a={SEED}")
    replayed = recording_file.exists() and recording_file.stat().st_size > 0
    if replayed:
        _moto_api(endpoint, "recorder/replay-recording")
    _moto_api(endpoint, "recorder/start-recording")
    return replayed


@dataclass(frozen=True)
class Pool:
    pool_id: str
    client_id: str
    admin_group: str


def ensure_pool(idp: Any, admin_group: str) -> Pool:
    """The user pool (email as username, self sign-up), its app client and admin group; idempotent."""
    pool_id = next((p["Id"] for p in idp.list_user_pools(MaxResults=60)["UserPools"]
                    if p["Name"] == POOL_NAME), None)
    if pool_id is None:
        pool_id = idp.create_user_pool(
            PoolName=POOL_NAME,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": False},
            Policies={"PasswordPolicy": PASSWORD_POLICY},
        )["UserPool"]["Id"]
    client_id = next((c["ClientId"] for c in idp.list_user_pool_clients(
        UserPoolId=pool_id, MaxResults=60)["UserPoolClients"] if c["ClientName"] == CLIENT_NAME), None)
    if client_id is None:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName=CLIENT_NAME, GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
        )["UserPoolClient"]["ClientId"]
    groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id)["Groups"]}
    if admin_group not in groups:
        idp.create_group(UserPoolId=pool_id, GroupName=admin_group,
                         Description="Administrators of the users and orders APIs")
    return Pool(pool_id, client_id, admin_group)


def ensure_user(idp: Any, pool_id: str, email: str, password: str, groups: Iterable[str] = ()) -> str:
    """A confirmed user with a permanent password, in `groups`; idempotent. Returns its `sub`."""
    try:
        user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
        attributes = user["UserAttributes"]
    except idp.exceptions.UserNotFoundException:
        attributes = idp.admin_create_user(
            UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        )["User"]["Attributes"]
        idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    current = {g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=email)["Groups"]}
    for group in groups:
        if group not in current:
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    return next(a["Value"] for a in attributes if a["Name"] == "sub")


def login(idp: Any, client_id: str, email: str, password: str) -> Dict[str, str]:
    """USER_PASSWORD_AUTH; returns IdToken, AccessToken, RefreshToken, ..."""
    return idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]


def outputs_file() -> Path:
    return Path(os.environ.get("LOCAL_STATE_DIR", LOCAL_STATE)) / "outputs.json"


def read_outputs(path: Optional[Path] = None) -> Dict[str, Any]:
    return json.loads((path or outputs_file()).read_text())
