"""Deploy both stacks of a stage with the AWS CLI: users first (it owns the user pool), then orders.

    python -m deploy.deploy --stage dev [--region R] [--bucket B] [--alarm-email E] [--create-apigateway-role]
    (make deploy STAGE=dev [REGION=..] [BUCKET=..] [ALARM_EMAIL=..] [CREATE_APIGW_ROLE=true])

Needs the packages from `make package STAGE=...` (deploy/build/<app>/<stage>/). For each app:
`aws cloudformation package` (uploads the zips to S3, rewrites the code URIs), `aws cloudformation deploy`,
then `describe-stacks` for the outputs; the users stack's `UserPool` and `UserPoolAdminGroupName` outputs
become the orders stack's parameters. Prints every output and writes them to
deploy/build/outputs-<stage>.json (same keys as .local/outputs.json, so the integration tests can target it).
Without --bucket (or DEPLOY_BUCKET) the artifacts go to <prefix>-artifacts-<account>-<region>, created
when missing.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "deploy" / "build"
DEFAULT_PREFIX = "serverless-patterns"
APPS = ("users", "orders")


class DeployError(Exception):
    pass


def stack_name(prefix: str, app: str, stage: str) -> str:
    return f"{prefix}-{app}-{stage}"


class Aws:
    """Runs the AWS CLI (whatever `aws` is on PATH) and echoes each command."""

    def __init__(self, region: str, echo=print) -> None:
        self.region = region
        self.echo = echo
        self.exe = shutil.which("aws")
        if not self.exe:
            raise DeployError("the AWS CLI (`aws`) is not on PATH: install it and configure credentials")

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

    def outputs(self, stack: str) -> Dict[str, str]:
        proc = self.run("cloudformation", "describe-stacks", "--stack-name", stack,
                        "--query", "Stacks[0].Outputs", "--output", "json", capture=True)
        return {o["OutputKey"]: o["OutputValue"] for o in json.loads(proc.stdout or "null") or []}


def default_bucket(aws: Aws, prefix: str) -> str:
    account = aws.run("sts", "get-caller-identity", "--query", "Account", "--output", "text",
                      capture=True).stdout.strip()
    bucket = f"{prefix}-artifacts-{account}-{aws.region}"
    if aws.run("s3api", "head-bucket", "--bucket", bucket, capture=True, check=False).returncode != 0:
        aws.run("s3", "mb", f"s3://{bucket}")
    return bucket


def deploy_stack(aws: Aws, app: str, stage: str, stack: str, bucket: str, build: Path,
                 parameters: Dict[str, str]) -> Dict[str, str]:
    out = build / app / stage
    template = out / "sam.json"
    if not template.exists():
        raise DeployError(f"{template} is missing: run `make package STAGE={stage}` first")
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
           alarm_email: Optional[str] = None, create_apigateway_role: bool = False,
           build: Path = BUILD, echo=print) -> Dict[str, object]:
    aws = Aws(region, echo)
    bucket = bucket or default_bucket(aws, prefix)
    common = {"AlarmEmail": alarm_email} if alarm_email else {}
    users_params = dict(common)
    if create_apigateway_role:  # account-wide: the users stack (deployed first) sets it up once
        users_params["CreateApiGatewayCloudWatchRole"] = "true"
    users = deploy_stack(aws, "users", stage, stack_name(prefix, "users", stage), bucket, build, users_params)
    if not users.get("UserPool"):
        raise DeployError(f"stack {stack_name(prefix, 'users', stage)} has no UserPool output")
    orders_params = {**common, "UserPool": users["UserPool"],
                     "UserPoolAdminGroupName": users.get("UserPoolAdminGroupName", "apiAdmins")}
    orders = deploy_stack(aws, "orders", stage, stack_name(prefix, "orders", stage), bucket, build, orders_params)
    return {"Region": region, "Stage": stage, "users": users, "orders": orders}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=("dev", "prod"))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                        or "us-east-1")
    parser.add_argument("--bucket", default=os.environ.get("DEPLOY_BUCKET") or None)
    parser.add_argument("--prefix", default=os.environ.get("STACK_PREFIX") or DEFAULT_PREFIX)
    parser.add_argument("--alarm-email", default=None)
    parser.add_argument("--create-apigateway-role", action="store_true",
                        help="first deploy in a region whose API Gateway has no CloudWatch logging role")
    parser.add_argument("--build-dir", type=Path, default=BUILD)
    args = parser.parse_args(argv)
    try:
        result = deploy(args.stage, args.region, args.bucket, args.prefix, args.alarm_email,
                        args.create_apigateway_role, args.build_dir)
    except DeployError as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    target = args.build_dir / f"outputs-{args.stage}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    for app in APPS:
        print(f"\n{stack_name(args.prefix, app, args.stage)}:")
        for key, value in result[app].items():
            print(f"  {key:24} {value}")
    print(f"\noutputs written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
