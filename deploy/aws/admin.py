"""Create (or reset) an admin login: a confirmed user with a permanent password in the admin group.

    python -m deploy.aws.admin --email you@example.com [--stage local|dev|prod] [--password P]
    (make admin EMAIL=you@example.com [STAGE=dev])

STAGE=local (the default of `make admin`) reads .local/outputs.json (or LOCAL_STATE_DIR's, as `make dev` and
deploy.local.token do: pool, client, group and the Cognito emulator's endpoint) of the running
`make up`/`make dev` stack, and talks to that endpoint whatever AWS_ENDPOINT_URL says; a deployed stage
reads the users stack's outputs from CloudFormation. Running it again for the same e-mail sets a new
password and keeps the user. Prints the password and the command that turns it into an ID token.
"""
import argparse
import json
import os
import secrets
import shlex
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

import boto3

from deploy.aws.deploy import DEFAULT_PREFIX, stack_name
from deploy.aws.target import TargetError, default_region
from deploy.aws.target import check as check_target
from deploy.local.cognito import outputs_file as local_outputs_file
from deploy.project import REGION


class AdminError(Exception):
    pass


@dataclass(frozen=True)
class Pool:
    region: str
    pool_id: str
    client_id: str
    group: str
    api_endpoint: str
    endpoint_url: Optional[str] = None  # the local Cognito emulator; None for AWS


def local_pool(outputs_file: Optional[Path] = None) -> Pool:
    outputs_file = outputs_file or local_outputs_file()
    if not outputs_file.exists():
        raise AdminError(f"{outputs_file} not found: start the local stack with `make up` (or `make dev`)")
    data = json.loads(outputs_file.read_text())
    users = data["users"]
    return Pool(region=data.get("Region", REGION), pool_id=users["UserPool"], client_id=users["UserPoolClient"],
                group=users.get("UserPoolAdminGroupName", "apiAdmins"), api_endpoint=users["APIEndpoint"],
                endpoint_url=data["CognitoEndpointUrl"])


def deployed_pool(stage: str, region: str, prefix: str = DEFAULT_PREFIX, cloudformation: Any = None) -> Pool:
    stack = stack_name(prefix, "users", stage)
    cfn = cloudformation or boto3.client("cloudformation", region_name=region)
    try:
        outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    except Exception as exc:  # noqa: BLE001 - any failure here means "no such deployed stack"
        raise AdminError(f"cannot read the outputs of stack {stack} in {region}: {exc}") from None
    values = {o["OutputKey"]: o["OutputValue"] for o in outputs}
    missing = [name for name in ("UserPool", "UserPoolClient", "APIEndpoint") if not values.get(name)]
    if missing:
        raise AdminError(f"stack {stack} in {region} has no {', '.join(missing)} output"
                         f"{'s' if len(missing) > 1 else ''}: is it this project's users stack, and did its "
                         f"last deploy finish? (`make deploy STAGE={stage}`)")
    return Pool(region=region, pool_id=values["UserPool"], client_id=values["UserPoolClient"],
                group=values.get("UserPoolAdminGroupName", "apiAdmins"), api_endpoint=values["APIEndpoint"])


def generate_password(length: int = 20) -> str:
    """Meets the pool's policy: upper, lower, digit and symbol, length >= 8."""
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#%+-.:=?@^_"]
    chars = [secrets.choice(c) for c in classes]
    alphabet = "".join(classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def ensure_admin(cognito: Any, pool: Pool, email: str, password: str) -> bool:
    """Create or reset the login; returns True when the user already existed."""
    existed = False
    try:
        cognito.admin_create_user(
            UserPoolId=pool.pool_id, Username=email, MessageAction="SUPPRESS", TemporaryPassword=password,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
    except cognito.exceptions.UsernameExistsException:
        existed = True
    cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=email, GroupName=pool.group)
    return existed


def token_command(pool: Pool, email: str, password: str) -> str:
    endpoint = f"--endpoint-url {pool.endpoint_url} " if pool.endpoint_url else ""
    return (f"aws cognito-idp initiate-auth {endpoint}--region {pool.region} --client-id {pool.client_id} "
            f"--auth-flow USER_PASSWORD_AUTH --auth-parameters "
            f"{shlex.quote(f'USERNAME={email},PASSWORD={password}')} "
            f"--query AuthenticationResult.IdToken --output text")


def cognito_client(pool: Pool) -> Any:
    if pool.endpoint_url:  # the emulator accepts any credentials; never use real ones against it
        return boto3.client("cognito-idp", region_name=pool.region, endpoint_url=pool.endpoint_url,
                            aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106 - dummies
    return boto3.client("cognito-idp", region_name=pool.region)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--email", required=True)
    parser.add_argument("--stage", default="local", choices=("local", "dev", "prod"))
    parser.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD") or None,
                        help="default: a random one (printed)")
    parser.add_argument("--outputs", type=Path,
                        help="STAGE=local: the outputs file (default: .local/outputs.json, or LOCAL_STATE_DIR's)")
    parser.add_argument("--region", default=default_region())
    parser.add_argument("--prefix", default=os.environ.get("STACK_PREFIX") or DEFAULT_PREFIX)
    args = parser.parse_args(argv)
    if "@" not in args.email:
        print("admin: EMAIL=you@example.com is required (the pool uses e-mail addresses as user names)",
              file=sys.stderr)
        return 2
    password = args.password or generate_password()
    try:
        if args.stage != "local":
            check_target()
        pool = local_pool(args.outputs) if args.stage == "local" else deployed_pool(args.stage, args.region,
                                                                                   args.prefix)
        existed = ensure_admin(cognito_client(pool), pool, args.email, password)
    except (AdminError, TargetError) as exc:
        print(f"admin: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - botocore errors: say what failed, no traceback
        print(f"admin: Cognito refused: {exc}", file=sys.stderr)
        return 1
    print(f"{'Reset' if existed else 'Created'} admin {args.email} in pool {pool.pool_id} "
          f"(group {pool.group}, stage {args.stage}).")
    print(f"Password: {password}")
    print("Get an ID token (valid 1 hour):")
    print(f"  TOKEN=$({token_command(pool, args.email, password)})")
    print("Use it:")
    print(f'  curl -H "Authorization: $TOKEN" {pool.api_endpoint}/users')
    return 0


if __name__ == "__main__":
    sys.exit(main())
