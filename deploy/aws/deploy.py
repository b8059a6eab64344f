"""Deploy both stacks of a stage with the AWS CLI: users first (it owns the user pool), then orders.

    python -m deploy.aws.deploy --stage dev [--region R] [--bucket B] [--alarm-email E]
                                [--create-apigateway-role true|false]
    (make deploy STAGE=dev [REGION=..] [BUCKET=..] [ALARM_EMAIL=..] [CREATE_APIGW_ROLE=true|false])

Needs the packages from `make package STAGE=...` (deploy/build/<app>/<stage>/). For each app:
`aws cloudformation package` (uploads the zips to S3, rewrites the code URIs), `aws cloudformation deploy`,
then `describe-stacks` for the outputs; the users stack's `UserPool` and `UserPoolAdminGroupName` outputs
become the orders stack's parameters. Prints every output and writes them to
deploy/build/outputs-<stage>.json (same keys as .local/outputs.json, so the integration tests can target it).
Without --bucket (or DEPLOY_BUCKET) the artifacts go to <prefix>-artifacts-<account>-<region>, created
when missing.

API Gateway needs a CloudWatch Logs role (one setting per account and region) before a stage can write
access logs. Unless told (--create-apigateway-role), the deploy reads it with `aws apigateway get-account`:
none set (a fresh account) -> the users stack creates one and sets it, and the deploy says so; one set ->
left alone, whoever owns it; one set whose role no longer exists -> the deploy stops and says so.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from deploy.aws.target import TargetError, default_region
from deploy.aws.target import check as check_target
from deploy.project import APPS, BUILD

DEFAULT_PREFIX = "serverless-patterns"
APIGW_ROLE_PARAMETER = "CreateApiGatewayCloudWatchRole"
# Cognito's rule for a hosted-UI prefix domain (unique across every account in a region)
HOSTED_UI_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_IN_PREFIX = re.compile(r"aws|amazon|cognito")


class DeployError(Exception):
    pass


def stack_name(prefix: str, app: str, stage: str) -> str:
    return f"{prefix}-{app}-{stage}"


def hosted_ui_prefix(stack: str, account: str) -> str:
    """The users stack's hosted-UI domain prefix: the stack name (lower case, without the words Cognito
    refuses) and 8 hex digits of the account's hash. Stable across app-client replacement, distinct
    between accounts that use the same stack name, and no account id in a public host name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", stack.lower())
    while RESERVED_IN_PREFIX.search(slug):
        slug = RESERVED_IN_PREFIX.sub("", slug)
    slug = re.sub(r"-{2,}", "-", slug).strip("-")[:54].rstrip("-")
    digest = hashlib.sha256(account.encode()).hexdigest()[:8]
    prefix = f"{slug}-{digest}" if slug else f"sp-{digest}"
    if not HOSTED_UI_PREFIX.match(prefix) or RESERVED_IN_PREFIX.search(prefix):
        raise DeployError(f"cannot derive a hosted-UI domain prefix from {stack!r}: got {prefix!r}")
    return prefix


def aws_cli() -> Optional[str]:
    """`aws` on PATH, else the one `make deps` installs beside this Python."""
    venv_aws = Path(sys.executable).with_name("aws")
    return shutil.which("aws") or (str(venv_aws) if venv_aws.exists() else None)


class Aws:
    """Runs the AWS CLI (`aws` on PATH, else the pinned one in .venv) and echoes each command."""

    def __init__(self, region: str, echo=print) -> None:
        self.region = region
        self.echo = echo
        exe = aws_cli()
        if not exe:
            raise DeployError("the AWS CLI (`aws`) is not on PATH: run `make deps` (it installs one in .venv) "
                              "or install it, and configure credentials")
        self.exe: str = exe

    def run(self, *args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.exe, *args, "--region", self.region]
        if not capture:
            self.echo("+ aws " + " ".join(args))
        proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.PIPE if capture else None)
        if check and proc.returncode != 0:
            raise DeployError(f"`aws {' '.join(args)}` failed (exit {proc.returncode})"
                              + (f": {proc.stderr.strip()}" if capture and proc.stderr else ""))
        return proc

    def json(self, *args: str) -> Any:
        """The command's JSON answer (None for an empty one)."""
        return json.loads(self.run(*args, "--output", "json", capture=True).stdout or "null")

    def outputs(self, stack: str) -> Dict[str, str]:
        found = self.json("cloudformation", "describe-stacks", "--stack-name", stack, "--query", "Stacks[0].Outputs")
        return {o["OutputKey"]: o["OutputValue"] for o in found or []}

    def account(self) -> str:
        return self.run("sts", "get-caller-identity", "--query", "Account", "--output", "text",
                        capture=True).stdout.strip()


def default_bucket(aws: Aws, prefix: str, account: str) -> str:
    bucket = f"{prefix}-artifacts-{account}-{aws.region}"
    if aws.run("s3api", "head-bucket", "--bucket", bucket, capture=True, check=False).returncode != 0:
        aws.run("s3", "mb", f"s3://{bucket}")
    return bucket


def apigateway_role_parameters(aws: Aws, create: Optional[bool]) -> Dict[str, str]:
    """The users stack's CreateApiGatewayCloudWatchRole, from the account's API Gateway setting."""
    if create is not None:  # CREATE_APIGW_ROLE=true|false: the user decides
        return {APIGW_ROLE_PARAMETER: "true" if create else "false"}
    role_arn = (aws.json("apigateway", "get-account") or {}).get("cloudwatchRoleArn")
    if not role_arn:
        aws.echo(f"API Gateway in {aws.region} has no CloudWatch Logs role (a fresh account): the users stack "
                 f"creates one and sets it for the region; it is kept when the stack is deleted.")
        return {APIGW_ROLE_PARAMETER: "true"}
    role = aws.run("iam", "get-role", "--role-name", role_arn.rsplit("/", 1)[-1], capture=True, check=False)
    if role.returncode != 0 and "NoSuchEntity" in role.stderr:
        raise DeployError(f"API Gateway in {aws.region} logs through {role_arn}, which no longer exists, so no "
                          f"API stage can write access logs: recreate that role, or deploy with "
                          f"CREATE_APIGW_ROLE=true to have the users stack create a new one and set it "
                          f"(the setting is shared by every API in this account and region)")
    return {}  # set, and maybe someone else's: never touch it


def deploy_stack(aws: Aws, app: str, stage: str, stack: str, bucket: str, build: Path,
                 parameters: Dict[str, str]) -> Dict[str, str]:
    out = build / app / stage
    template = out / "sam.json"
    packaged = out / "packaged.json"
    aws.run("cloudformation", "package", "--template-file", str(template), "--s3-bucket", bucket,
            "--s3-prefix", stack, "--output-template-file", str(packaged), "--use-json")
    args = ["cloudformation", "deploy", "--template-file", str(packaged), "--stack-name", stack,
            "--s3-bucket", bucket, "--s3-prefix", stack,
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--no-fail-on-empty-changeset",
            "--tags", "project=serverless-patterns-chalice", f"stage={stage}", f"app={app}"]
    if parameters:
        args += ["--parameter-overrides", *[f"{k}={v}" for k, v in parameters.items()]]
    aws.run(*args)
    return aws.outputs(stack)


def deploy(stage: str, region: str, bucket: Optional[str] = None, prefix: str = DEFAULT_PREFIX,
           alarm_email: Optional[str] = None, create_apigateway_role: Optional[bool] = None,
           build: Path = BUILD, echo=print, waf: Optional[bool] = None) -> Dict[str, Any]:
    for app in (a.name for a in APPS):  # before any AWS call
        if not (build / app / stage / "sam.json").exists():
            raise DeployError(f"{build / app / stage / 'sam.json'} is missing: run `make package STAGE={stage}` first")
    aws = Aws(region, echo)
    account = aws.account()
    bucket = bucket or default_bucket(aws, prefix, account)
    common = {"AlarmEmail": alarm_email} if alarm_email else {}
    if waf is not None:  # else the stack's previous value, or the stage's default (prod on, dev off)
        common["EnableWaf"] = "true" if waf else "false"
    users_stack = stack_name(prefix, "users", stage)
    users_params = {**common, "UserPoolDomainPrefix": hosted_ui_prefix(users_stack, account),
                    # account-wide: only the users stack (deployed first) may create it, never orders
                    **apigateway_role_parameters(aws, create_apigateway_role)}
    users = deploy_stack(aws, "users", stage, users_stack, bucket, build, users_params)
    if not users.get("UserPool"):
        raise DeployError(f"stack {stack_name(prefix, 'users', stage)} has no UserPool output")
    orders_params = {**common, "UserPool": users["UserPool"],
                     "UserPoolAdminGroupName": users.get("UserPoolAdminGroupName", "apiAdmins")}
    orders = deploy_stack(aws, "orders", stage, stack_name(prefix, "orders", stage), bucket, build, orders_params)
    return {"Region": region, "Stage": stage, "users": users, "orders": orders}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=("dev", "prod"))
    parser.add_argument("--region", default=default_region())
    parser.add_argument("--bucket", default=os.environ.get("DEPLOY_BUCKET") or None)
    parser.add_argument("--prefix", default=os.environ.get("STACK_PREFIX") or DEFAULT_PREFIX)
    parser.add_argument("--alarm-email", default=None)
    parser.add_argument("--create-apigateway-role", choices=("true", "false"), default=None,
                        help="create API Gateway's CloudWatch Logs role in the users stack (default: only when "
                             "`aws apigateway get-account` shows none)")
    parser.add_argument("--waf", choices=("true", "false"), default=None,
                        help="the regional WAF web ACL on both API stages (default: prod on, dev off)")
    parser.add_argument("--build-dir", type=Path, default=BUILD)
    args = parser.parse_args(argv)
    create_role = None if args.create_apigateway_role is None else args.create_apigateway_role == "true"
    try:
        check_target()
        result = deploy(args.stage, args.region, args.bucket, args.prefix, args.alarm_email,
                        create_role, args.build_dir.resolve(),
                        waf=None if args.waf is None else args.waf == "true")
    except (DeployError, TargetError) as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    target = args.build_dir / f"outputs-{args.stage}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    for app in (a.name for a in APPS):
        print(f"\n{stack_name(args.prefix, app, args.stage)}:")
        for key, value in result[app].items():
            print(f"  {key:24} {value}")
    print(f"\noutputs written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
