"""`make deploy` with a stand-in `aws` on PATH; package.py's merge and leftover checks; the Makefile targets."""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List

import pytest

from deploy.aws import deploy as deploy_mod
from deploy.aws.package import PackageError, finalize, merge_template
from deploy.project import ROOT

POOL_ID = "us-east-1_Stub12345"

STAND_IN_AWS = textwrap.dedent(f"""\
    #!{sys.executable}
    # Stand-in for the AWS CLI: records its arguments, answers what deploy.py asks.
    import json, os, sys
    args = sys.argv[1:]
    with open(os.environ["AWS_STUB_LOG"], "a") as log:
        log.write(json.dumps(args) + "\\n")
    def opt(name):
        return args[args.index(name) + 1]
    if args[:2] == ["sts", "get-caller-identity"]:
        print("123456789012")
    elif args[:2] == ["s3api", "head-bucket"]:
        sys.exit(int(os.environ.get("AWS_STUB_NO_BUCKET", "0")))
    elif args[:2] == ["cloudformation", "package"]:
        template = json.load(open(opt("--template-file")))
        for resource in template["Resources"].values():
            props = resource.get("Properties", {{}})
            for key in ("CodeUri", "ContentUri"):
                if key in props:
                    props[key] = "s3://" + opt("--s3-bucket") + "/" + opt("--s3-prefix") + "/code.zip"
        json.dump(template, open(opt("--output-template-file"), "w"))
    elif args[:2] == ["apigateway", "get-account"]:
        role = os.environ.get("AWS_STUB_APIGW_ROLE")
        print(json.dumps({{"cloudwatchRoleArn": role}} if role else {{}}))
    elif args[:2] == ["iam", "get-role"]:
        if os.environ.get("AWS_STUB_ROLE_MISSING"):
            sys.stderr.write("An error occurred (NoSuchEntity) when calling the GetRole operation: not found\\n")
            sys.exit(254)
        print(json.dumps({{"Role": {{"RoleName": opt("--role-name")}}}}))
    elif args[:2] == ["cloudformation", "describe-stacks"]:
        stack = opt("--stack-name")
        if "-users-" in stack:
            outputs = {{"APIEndpoint": "https://users.example/api", "UserPool": "{POOL_ID}",
                       "UserPoolClient": "client123", "UserPoolAdminGroupName": "apiAdmins",
                       "UsersTable": stack + "-UsersTable-X"}}
        else:
            outputs = {{"OrdersServiceEndpoint": "https://orders.example/api", "OrdersTable": "o",
                       "IdempotencyTable": "i"}}
        assert opt("--query") == "Stacks[0].Outputs"
        print(json.dumps([{{"OutputKey": k, "OutputValue": v}} for k, v in outputs.items()]))
    """)


@pytest.fixture()
def stand_in_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "aws"
    exe.write_text(STAND_IN_AWS)
    exe.chmod(0o755)
    log = tmp_path / "aws-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AWS_STUB_LOG", str(log))
    return log


def calls(log: Path) -> List[List[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def opt(call: List[str], name: str) -> str:
    return call[call.index(name) + 1]


def test_deploy_runs_users_then_orders_and_hands_over_the_user_pool(
        stand_in_aws: Path, build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    build = tmp_path / "build"
    for app in ("users", "orders"):  # only the templates matter to the stand-in
        (build / app / "prod").mkdir(parents=True)
        (build / app / "prod" / "sam.json").write_text((build_dir / app / "prod" / "sam.json").read_text())
    code = deploy_mod.main(["--stage", "prod", "--region", "eu-west-1", "--bucket", "my-artifacts",
                            "--alarm-email", "ops@example.com", "--create-apigateway-role", "true",
                            "--build-dir", str(build)])
    assert code == 0
    made = calls(stand_in_aws)
    assert [c[:2] for c in made] == [["sts", "get-caller-identity"]] + [
        ["cloudformation", "package"], ["cloudformation", "deploy"], ["cloudformation", "describe-stacks"]] * 2
    assert all(opt(c, "--region") == "eu-west-1" for c in made)
    users_pkg, users_deploy, users_describe, orders_pkg, orders_deploy, orders_describe = made[1:]
    assert opt(users_pkg, "--template-file") == str(build / "users" / "prod" / "sam.json")
    assert opt(users_pkg, "--s3-bucket") == "my-artifacts"
    assert opt(users_deploy, "--template-file") == opt(users_pkg, "--output-template-file")
    assert opt(users_deploy, "--stack-name") == "serverless-patterns-users-prod"
    assert opt(orders_deploy, "--stack-name") == "serverless-patterns-orders-prod"
    assert opt(users_describe, "--stack-name") == "serverless-patterns-users-prod"
    assert opt(orders_describe, "--stack-name") == "serverless-patterns-orders-prod"
    for deploy_call in (users_deploy, orders_deploy):
        assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(deploy_call)
        assert "AlarmEmail=ops@example.com" in deploy_call
    # the hand-off: the users stack's UserPool output becomes the orders stack's parameter
    assert f"UserPool={POOL_ID}" in orders_deploy
    assert "UserPoolAdminGroupName=apiAdmins" in orders_deploy
    assert not any(a.startswith("UserPool=") for a in users_deploy)
    # the account-wide logging role is requested once, on the stack deployed first
    assert "CreateApiGatewayCloudWatchRole=true" in users_deploy
    assert not any(a.startswith("CreateApiGatewayCloudWatchRole") for a in orders_deploy)
    packaged = json.loads((build / "users" / "prod" / "packaged.json").read_text())
    assert packaged["Resources"]["APIHandler"]["Properties"]["CodeUri"].startswith("s3://my-artifacts/")
    out = capsys.readouterr().out
    assert POOL_ID in out and "https://orders.example/api" in out
    written = json.loads((build / "outputs-prod.json").read_text())
    assert written["Region"] == "eu-west-1"
    assert written["users"]["UserPool"] == POOL_ID
    assert written["orders"]["OrdersServiceEndpoint"] == "https://orders.example/api"


def test_deploy_creates_the_default_artifact_bucket_when_missing(
        stand_in_aws: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_STUB_NO_BUCKET", "1")
    monkeypatch.delenv("DEPLOY_BUCKET", raising=False)
    assert deploy_mod.main(["--stage", "dev", "--build-dir", str(build_dir)]) == 0
    made = calls(stand_in_aws)
    bucket = "serverless-patterns-artifacts-123456789012-us-east-1"
    assert made[0][:2] == ["sts", "get-caller-identity"]
    assert made[1][:2] == ["s3api", "head-bucket"] and opt(made[1], "--bucket") == bucket
    assert made[2][:3] == ["s3", "mb", f"s3://{bucket}"]
    assert made[3][:2] == ["apigateway", "get-account"]
    assert opt(made[4], "--s3-bucket") == bucket
    # no optional parameters unless asked for (an update keeps the stack's previous values): only the
    # hosted-UI prefix, always derived, and the logging role this fresh account lacks
    users_deploy = made[5]
    overrides = users_deploy[users_deploy.index("--parameter-overrides") + 1:users_deploy.index("--region")]
    prefix = deploy_mod.hosted_ui_prefix("serverless-patterns-users-dev", "123456789012")
    assert overrides == [f"UserPoolDomainPrefix={prefix}",
                         "CreateApiGatewayCloudWatchRole=true"]


def test_deploy_without_packages_says_what_to_run(stand_in_aws: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert deploy_mod.main(["--stage", "dev", "--bucket", "b", "--build-dir", str(tmp_path)]) == 1
    assert "make package STAGE=dev" in capsys.readouterr().err
    assert calls(stand_in_aws) == []


def _users_overrides(made: List[List[str]]) -> List[str]:
    users_deploy = next(c for c in made
                        if c[:2] == ["cloudformation", "deploy"] and "-users-" in opt(c, "--stack-name"))
    if "--parameter-overrides" not in users_deploy:
        return []
    return users_deploy[users_deploy.index("--parameter-overrides") + 1:users_deploy.index("--region")]


@pytest.mark.parametrize("setting, role_missing, expected", [
    (None, False, "CreateApiGatewayCloudWatchRole=true"),              # a fresh account: create it
    ("arn:aws:iam::123456789012:role/someone-elses", False, None),     # set: never touch it
])
def test_the_api_gateway_logging_role_is_created_only_when_none_is_set(
        stand_in_aws: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        setting: Any, role_missing: bool, expected: Any) -> None:
    if setting:
        monkeypatch.setenv("AWS_STUB_APIGW_ROLE", setting)
    assert deploy_mod.main(["--stage", "dev", "--bucket", "b", "--build-dir", str(build_dir)]) == 0
    made = calls(stand_in_aws)
    role_params = [a for a in _users_overrides(made) if a.startswith("CreateApiGatewayCloudWatchRole")]
    assert role_params == ([expected] if expected else [])
    orders_deploy = [c for c in made if c[:2] == ["cloudformation", "deploy"]][1]
    assert not any(a.startswith("CreateApiGatewayCloudWatchRole") for a in orders_deploy)
    said = capsys.readouterr().out
    assert ("has no CloudWatch Logs role" in said) == (setting is None)
    if setting:  # it was checked to exist, by name
        get_role = next(c for c in made if c[:2] == ["iam", "get-role"])
        assert get_role[:4] == ["iam", "get-role", "--role-name", "someone-elses"]


def test_a_logging_role_that_no_longer_exists_stops_the_deploy(
        stand_in_aws: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("AWS_STUB_APIGW_ROLE", "arn:aws:iam::123456789012:role/deleted-role")
    monkeypatch.setenv("AWS_STUB_ROLE_MISSING", "1")
    assert deploy_mod.main(["--stage", "dev", "--bucket", "b", "--build-dir", str(build_dir)]) == 1
    err = capsys.readouterr().err
    assert "arn:aws:iam::123456789012:role/deleted-role, which no longer exists" in err
    assert "CREATE_APIGW_ROLE=true" in err and len(err.strip().splitlines()) == 1
    assert not [c for c in calls(stand_in_aws) if c[:2] == ["cloudformation", "deploy"]]


@pytest.mark.parametrize("value", ["true", "false"])
def test_create_apigw_role_overrides_the_check(stand_in_aws: Path, build_dir: Path, value: str) -> None:
    assert deploy_mod.main(["--stage", "dev", "--bucket", "b", "--create-apigateway-role", value,
                            "--build-dir", str(build_dir)]) == 0
    made = calls(stand_in_aws)
    assert not [c for c in made if c[:2] in (["apigateway", "get-account"], ["iam", "get-role"])]
    assert f"CreateApiGatewayCloudWatchRole={value}" in _users_overrides(made)


@pytest.mark.parametrize("stack", ["serverless-patterns-users-dev", "serverless-patterns-users-prod",
                                   "AWS-Demo-users-dev", "my-amazon-cognito-stack", "x", "aws", "A" * 128])
def test_hosted_ui_prefix_is_valid_stable_and_per_account(stack: str) -> None:
    prefix = deploy_mod.hosted_ui_prefix(stack, "123456789012")
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", prefix)
    assert not re.search("aws|amazon|cognito", prefix)
    assert prefix == deploy_mod.hosted_ui_prefix(stack, "123456789012")
    assert prefix != deploy_mod.hosted_ui_prefix(stack, "210987654321")
    assert "123456789012" not in prefix  # no account id in a public host name


def test_hosted_ui_prefix_reads_like_the_stack() -> None:
    assert re.fullmatch(r"serverless-patterns-users-dev-[0-9a-f]{8}",
                        deploy_mod.hosted_ui_prefix("serverless-patterns-users-dev", "123456789012"))


# ---------------------------------------------------------------- package.py helpers

def test_stage_overrides_are_merged_and_removed() -> None:
    prod = merge_template("users", "prod")
    dev = merge_template("users", "dev")
    assert "StageOverrides" not in json.dumps(prod) and "StageOverrides" not in json.dumps(dev)
    assert prod["Resources"]["UsersTable"]["DeletionPolicy"] == "Retain"
    assert dev["Resources"]["UsersTable"]["DeletionPolicy"] == "Delete"
    # keys are untouched by the merge
    assert prod["Resources"]["UsersTable"]["Properties"]["KeySchema"] == \
        dev["Resources"]["UsersTable"]["Properties"]["KeySchema"]


def test_finalize_rejects_leftovers_and_drops_chalice_outputs() -> None:
    ok: Dict[str, Any] = {"Resources": {"A": {"Type": "AWS::SNS::Topic"}},
                          "Outputs": {"EndpointURL": {"Value": "x"}, "Mine": {"Value": "y"}}}
    assert set(finalize(ok, "users")["Outputs"]) == {"Mine"}
    with pytest.raises(PackageError, match="no Type"):
        finalize({"Resources": {"Authorizer": {"Properties": {}}}}, "users")
    with pytest.raises(PackageError, match="USERS_TABLE"):
        finalize({"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {
            "Environment": {"Variables": {"USERS_TABLE": "REPLACED_BY_MERGE_TEMPLATE"}}}}}}, "users")
    hard_coded = {"Resources": {"RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {
        "securityDefinitions": {"P": {"x-amazon-apigateway-authtype": "cognito_user_pools",
                                      "x-amazon-apigateway-authorizer": {
                                          "type": "cognito_user_pools",
                                          "providerARNs": ["arn:aws:cognito-idp:us-east-1:1:userpool/x"]}}}}}}}}
    with pytest.raises(PackageError, match="UserPool parameter"):
        finalize(hard_coded, "orders")


# ---------------------------------------------------------------- Makefile wiring

def make_dry_run(*args: str) -> str:
    proc = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k not in ("STAGE", "MAKEFLAGS")})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_targets_run_the_deploy_tools() -> None:
    assert "-m deploy.aws.package --stage dev" in make_dry_run("package")
    assert "-m deploy.aws.package --stage prod" in make_dry_run("package", "STAGE=prod")
    deploy_out = make_dry_run("deploy", "STAGE=prod", "REGION=eu-west-1", "BUCKET=b")
    packaged = deploy_out.index("-m deploy.aws.package --stage prod")
    assert packaged < deploy_out.index("-m deploy.aws.deploy --stage prod")
    assert "--region eu-west-1" in deploy_out and "--bucket b" in deploy_out
    assert "-m deploy.aws.admin --email \"a@example.com\" --stage local" in make_dry_run("admin", "EMAIL=a@example.com")
    assert "--stage dev" in make_dry_run("admin", "EMAIL=a@example.com", "STAGE=dev")


# ---------------------------------------------------------------- deploy/aws/target.py

@pytest.mark.parametrize("url", ["http://127.0.0.1:9229", "http://localhost:4566", "http://[::1]:8000",
                                 "http://127.8.9.10", "localhost:9229", "http://0.0.0.0:3001"])
def test_a_loopback_endpoint_is_refused_unless_testing(url: str) -> None:
    from deploy.aws.target import TargetError, check
    with pytest.raises(TargetError, match="points at a local emulator"):
        check({"AWS_ENDPOINT_URL_CLOUDFORMATION": url})
    check({"AWS_ENDPOINT_URL_CLOUDFORMATION": url, "AWS_ENDPOINT_URL": url, "DEPLOY_TO_EMULATOR": "1"})


def test_remote_endpoints_are_aws_and_the_test_flag_refuses_them() -> None:
    from deploy.aws.target import TargetError, check
    check({})
    check({"AWS_ENDPOINT_URL": "https://cloudformation.eu-west-1.amazonaws.com"})  # a VPC endpoint, say
    with pytest.raises(TargetError, match="AWS_ENDPOINT_URL is not set"):
        check({"DEPLOY_TO_EMULATOR": "1"})
    with pytest.raises(TargetError, match="AWS_ENDPOINT_URL_S3=https://s3.amazonaws.com"):
        check({"DEPLOY_TO_EMULATOR": "1", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
               "AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com"})
