"""`make deploy`, `make admin`, `make logs` and `make destroy` against an emulated AWS account.

moto's server stands in for AWS and the real AWS CLI talks to it; only `aws cloudformation deploy` is
replaced, by tests/support/emulated_account.py, whose every substitution is listed in its SUBSTITUTIONS
(and deploy/README.md, "What the emulated-account test cannot prove"). Everything else runs as a user
runs it: `make package` (chalice package + build step), `aws cloudformation package` into moto's S3,
the API Gateway logging-role check, the users -> orders hand-over, `make admin`, `make destroy`.
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import boto3
import pytest

from chalicelib_shared.settings import PLACEHOLDER
from deploy.project import ROOT
from tests.support.emulated_account import LOG_ENV, PROPERTY_SUBSTITUTIONS, SUBSTITUTIONS, moto_account

STAGE = "dev"
USERS, ORDERS = f"serverless-patterns-users-{STAGE}", f"serverless-patterns-orders-{STAGE}"
# The workshop's output names (its README, "Outputs") plus the ones its tests and ours read.
WORKSHOP_OUTPUTS = {"users": {"APIEndpoint", "UserPool", "UserPoolClient", "CognitoLoginURL", "CognitoAuthCommand",
                              "AlarmsTopic", "DashboardURL"},
                    "orders": {"OrdersServiceEndpoint", "AlarmsTopic", "DashboardURL"}}

WRAPPER = """#!/bin/sh
# The AWS CLI, except `aws cloudformation deploy` (tests/support/emulated_account.py).
if [ "$1" = cloudformation ] && [ "$2" = deploy ]; then
  PYTHONPATH={root} exec {python} -m tests.support.emulated_account "$@"
fi
exec {aws} "$@"
"""


class Account:
    """The emulated account: its endpoint, the environment `make` runs in, boto3 clients."""

    def __init__(self, endpoint: str, tmp: Path) -> None:
        self.endpoint, self.build, self.log = endpoint, tmp / "build", tmp / "substitutions.jsonl"
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "aws"
        wrapper.write_text(WRAPPER.format(root=ROOT, python=sys.executable,
                                          aws=Path(sys.executable).with_name("aws")))
        wrapper.chmod(0o755)
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "MAKE", "MFLAGS")) and k not in ("STAGE", "PYTEST_ARGS")}
        self.env = {**keep, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AWS_ENDPOINT_URL": endpoint,
                    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                    "DEPLOY_TO_EMULATOR": "1", LOG_ENV: str(self.log)}

    def make(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "--no-print-directory", *args, f"BUILD_DIR={self.build}"], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def stack(self, name: str) -> Dict[str, Any]:
        return self.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]

    def outputs(self, name: str) -> Dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stack(name).get("Outputs", [])}

    def resources(self, name: str, kind: str) -> List[str]:
        summaries = self.client("cloudformation").list_stack_resources(StackName=name)["StackResourceSummaries"]
        return [r["PhysicalResourceId"] for r in summaries if r["ResourceType"] == kind]

    def substitutions(self) -> List[Dict[str, str]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        self.log.unlink(missing_ok=True)
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    with moto_account() as endpoint:
        yield Account(endpoint, tmp_path_factory.mktemp("emulated-account"))


def succeeded(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


def deploy_calls(output: str) -> List[str]:
    return [line for line in output.splitlines() if line.startswith("+ aws cloudformation deploy ")]


def test_make_deploy_admin_logs_destroy(account: Account) -> None:
    started = time.monotonic()
    first = succeeded(account.make("deploy", f"STAGE={STAGE}", "ALARM_EMAIL=ops@example.com", "WAF=true"))
    assert_first_deploy(account, first)
    assert_functions_are_configured(account)
    assert_outputs_file(account)
    assert_substituted(account.substitutions(), set(SUBSTITUTIONS))

    role = account.client("apigateway").get_account()["cloudwatchRoleArn"]
    second = succeeded(account.make("deploy", f"STAGE={STAGE}"))
    assert second.count("(unchanged since its last build: kept)") == 2  # nothing changed: nothing rebuilt
    assert "CloudWatch Logs role" not in second  # one is set now: left alone
    users_call, orders_call = deploy_calls(second)
    assert "CreateApiGatewayCloudWatchRole" not in users_call + orders_call
    assert {account.stack(USERS)["StackStatus"], account.stack(ORDERS)["StackStatus"]} == {"UPDATE_COMPLETE"}
    assert account.client("apigateway").get_account()["cloudwatchRoleArn"] == role
    assert len(account.client("cognito-idp").list_user_pools(MaxResults=10)["UserPools"]) == 1  # reused
    assert_substituted(account.substitutions(), set(SUBSTITUTIONS))  # AlarmEmail and the role keep their values

    assert_admin_can_log_in(account)
    assert_logs_are_followed(account)

    refused = account.make("destroy", "STAGE=prod")
    assert refused.returncode != 0 and "CONFIRM=prod" in refused.stderr and "delete-stack" not in refused.stdout
    gone = succeeded(account.make("destroy", f"STAGE={STAGE}"))
    assert gone.index(f"delete-stack --stack-name {ORDERS}") < gone.index(f"delete-stack --stack-name {USERS}")
    for name in (USERS, ORDERS):
        with pytest.raises(account.client("cloudformation").exceptions.ClientError, match="does not exist"):
            account.stack(name)
    print(f"\nemulated account: deploy x2, admin, logs, destroy in {time.monotonic() - started:.1f} s")


def assert_first_deploy(account: Account, output: str) -> None:
    assert "has no CloudWatch Logs role (a fresh account): the users stack creates one" in output
    users_call, orders_call = deploy_calls(output)
    assert "CreateApiGatewayCloudWatchRole=true" in users_call
    assert "CreateApiGatewayCloudWatchRole" not in orders_call  # account-wide: only the users stack
    role_arn = account.client("apigateway").get_account()["cloudwatchRoleArn"]
    assert role_arn.rsplit("/", 1)[-1] in account.resources(USERS, "AWS::IAM::Role")
    assert {account.stack(USERS)["StackStatus"], account.stack(ORDERS)["StackStatus"]} == {"CREATE_COMPLETE"}
    pool_id = account.outputs(USERS)["UserPool"]
    handed_over = {p["ParameterKey"]: p["ParameterValue"] for p in account.stack(ORDERS)["Parameters"]}
    assert handed_over["UserPool"] == pool_id
    assert account.client("cognito-idp").describe_user_pool(UserPoolId=pool_id)["UserPool"]["Id"] == pool_id
    prefix = account.client("cognito-idp").describe_user_pool(UserPoolId=pool_id)["UserPool"].get("Domain")
    assert prefix and re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", prefix)
    assert not re.search("aws|amazon|cognito", prefix) and account.outputs(USERS)["UserPoolClient"] not in prefix
    subscribed = account.client("sns").list_subscriptions()["Subscriptions"]
    assert {s["Endpoint"] for s in subscribed} == {"ops@example.com"} and len(subscribed) == 2


def assert_functions_are_configured(account: Account) -> None:
    """No function environment holds a placeholder; each names its stack's real tables and pool."""
    lam = account.client("lambda")
    users, orders = account.outputs(USERS), account.outputs(ORDERS)
    functions = account.resources(USERS, "AWS::Lambda::Function") + account.resources(ORDERS, "AWS::Lambda::Function")
    assert len(functions) == 3  # users API, users authorizer, orders API
    for name in functions:
        env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        assert not {k: v for k, v in env.items() if PLACEHOLDER.search(v)}, name
        if name.startswith(USERS):
            assert env["USERS_TABLE"] == users["UsersTable"] and env["USER_POOL_ID"] == users["UserPool"]
            assert env["APP_CLIENT_ID"] == users["UserPoolClient"]
        else:
            assert env["ORDERS_TABLE"] == orders["OrdersTable"]
            assert env["IDEMPOTENCY_TABLE"] == orders["IdempotencyTable"]
            assert env["USER_POOL_ARN"].endswith(f":userpool/{users['UserPool']}")


def assert_outputs_file(account: Account) -> None:
    written = json.loads((account.build / f"outputs-{STAGE}.json").read_text())
    for app, stack in (("users", USERS), ("orders", ORDERS)):
        assert WORKSHOP_OUTPUTS[app] <= set(written[app])
        assert written[app] == account.outputs(stack)
    assert written["Region"] == "us-east-1"


def assert_substituted(entries: List[Dict[str, str]], types: set) -> None:
    """What the shim replaced is exactly its documented list: a new type moto cannot model fails the
    deploy (check_unmodelled), and a documented one that stops occurring fails here."""
    assert {e["type"] for e in entries if e["resource"] != "*"} == types
    assert {e["type"] for e in entries if e["resource"] == "*"} == {f"{k}.{p}" for k, p in PROPERTY_SUBSTITUTIONS}
    readme = (ROOT / "deploy" / "README.md").read_text()
    for kind in types:
        assert f"`{kind}`" in readme, f"deploy/README.md does not list the stand-in for {kind}"


def assert_admin_can_log_in(account: Account) -> None:
    output = succeeded(account.make("admin", f"STAGE={STAGE}", "EMAIL=ops@example.com"))
    found = re.search(r"^Password: (.+)$", output, re.M)
    assert found, output
    password = found.group(1)
    users = account.outputs(USERS)
    idp = account.client("cognito-idp")
    groups = idp.admin_list_groups_for_user(UserPoolId=users["UserPool"], Username="ops@example.com")["Groups"]
    assert [g["GroupName"] for g in groups] == ["apiAdmins"]
    tokens = idp.initiate_auth(ClientId=users["UserPoolClient"], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": "ops@example.com", "PASSWORD": password})
    assert tokens["AuthenticationResult"]["IdToken"].count(".") == 2


def assert_logs_are_followed(account: Account) -> None:
    group = account.client("cloudformation").describe_stack_resource(
        StackName=USERS, LogicalResourceId="UsersAuthorizerLogGroup")["StackResourceDetail"]["PhysicalResourceId"]
    logs = account.client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/01/[$LATEST]test")
    logs.put_log_events(logGroupName=group, logStreamName="2026/12/01/[$LATEST]test",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": '{"message": "denied"}'}])
    output = succeeded(account.make("logs", f"STAGE={STAGE}", "APP=users", "FUNCTION=authorizer", "FOLLOW=false"))
    assert group in output and '{"message": "denied"}' in output


# ---------------------------------------------------------------- never the wrong account

def test_make_deploy_refuses_a_loopback_endpoint_without_the_test_flag(account: Account) -> None:
    env = {**account.env, "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}
    env.pop("DEPLOY_TO_EMULATOR")
    for target, args in (("deploy", ["STAGE=dev"]), ("admin", ["STAGE=dev", "EMAIL=a@example.com"]),
                         ("destroy", ["STAGE=dev"]), ("logs", ["STAGE=dev", "APP=users"])):
        cmd = [sys.executable, "-m", f"deploy.aws.{target}", "--stage", "dev"] + \
            {"deploy": [], "admin": ["--email", "a@example.com"], "destroy": [], "logs": ["--app", "users"]}[target]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, (target, proc.stdout, proc.stderr)
        assert "points at a local emulator, not AWS" in proc.stderr and "AWS_ENDPOINT_URL_DYNAMODB" in proc.stderr
        assert "unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB" in proc.stderr, args


def test_the_test_flag_refuses_anything_but_loopback(account: Account) -> None:
    env = {k: v for k, v in account.env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    proc = subprocess.run([sys.executable, "-m", "deploy.aws.deploy", "--stage", "dev"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "refusing to reach AWS" in proc.stderr
    env["AWS_ENDPOINT_URL"] = "https://cloudformation.us-east-1.amazonaws.com"
    proc = subprocess.run([sys.executable, "-m", "tests.support.emulated_account", "cloudformation", "deploy"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "refusing to reach AWS" in proc.stderr
