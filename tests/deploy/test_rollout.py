"""Production rollout, through the SAM transform and cfn-lint: versions behind the live alias with CodeDeploy
(dev all at once, prod canary) rolling back on the alias's errors and the API's 5XX rate; arm64 artifacts
whose every shared object is AArch64; the declared runtime everywhere and SnapStart in prod; WAF in prod; the
stack's KMS key; and checkov with 0 failed checks on every packaged template."""
import io
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from deploy.aws.build_step import BuildError, check_architecture, elf_machine
from deploy.aws.package import inputs_digest, package, reusable
from deploy.aws.rollout import RolloutError, add_snapstart
from deploy.project import APPS, LAMBDA_RUNTIME, ROOT
from tests.support.packaging import Package, cfn_lint

FUNCTIONS = {"users": {"APIHandler": "ApiHandlerLiveErrorsAlarm", "UsersAuthorizer": "AuthorizerLiveErrorsAlarm"},
             "orders": {"APIHandler": "ApiHandlerLiveErrorsAlarm"}}
TRAFFIC = {"dev": "AllAtOnce", "prod": "Canary10Percent5Minutes"}
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
Packages = Dict[Tuple[str, str], Package]


def of_type(template: Dict[str, Any], kind: str) -> Dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


# ---------------------------------------------------------------- versions, aliases, CodeDeploy

def test_every_function_deploys_through_codedeploy_behind_the_live_alias(pkg: Package) -> None:
    resources = pkg.transformed["Resources"]
    (application,) = of_type(pkg.transformed, "AWS::CodeDeploy::Application").values()
    assert application["Properties"]["ComputePlatform"] == "Lambda"
    groups = of_type(pkg.transformed, "AWS::CodeDeploy::DeploymentGroup")
    assert set(groups) == {f"{function}DeploymentGroup" for function in FUNCTIONS[pkg.app]}
    for function, live_alarm in FUNCTIONS[pkg.app].items():
        group = groups[f"{function}DeploymentGroup"]["Properties"]
        assert group["DeploymentConfigName"]["Fn::Sub"][1] == {"ConfigName": TRAFFIC[pkg.stage]}
        assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [
            {"Name": {"Ref": live_alarm}}, {"Name": {"Ref": "Api5xxRateAlarm"}}]}
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
        assert group["ServiceRoleArn"] == {"Fn::GetAtt": ["CodeDeployRole", "Arn"]}  # not the managed policy
        alias = resources[f"{function}Aliaslive"]
        assert alias["Properties"]["FunctionName"] == {"Ref": function}
        assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"] == {
            "Ref": f"{function}DeploymentGroup"}
    assert "CodeDeployServiceRole" not in resources


def test_nothing_invokes_latest(pkg: Package) -> None:
    """Every route, the authorizer and every Lambda permission name the live alias."""
    resources = pkg.transformed["Resources"]
    body = resources["RestAPI"]["Properties"]["Body"]
    uris = [op["x-amazon-apigateway-integration"]["uri"] for methods in body["paths"].values()
            for op in methods.values()]
    uris += [d["x-amazon-apigateway-authorizer"]["authorizerUri"] for d in body.get("securityDefinitions", {}).values()
             if "authorizerUri" in d.get("x-amazon-apigateway-authorizer", {})]
    assert uris and all(uri["Fn::Sub"][0].endswith("Alias}/invocations") for uri in uris)
    invoked = {variable["Ref"] for uri in uris for variable in uri["Fn::Sub"][1].values()}
    assert invoked == {f"{function}Aliaslive" for function in FUNCTIONS[pkg.app]}
    assert not re.search(r"\$\{(APIHandler|UsersAuthorizer)\.Arn\}", json.dumps(body))
    permissions = of_type(pkg.transformed, "AWS::Lambda::Permission").values()
    assert sorted(p["Properties"]["FunctionName"]["Ref"] for p in permissions) == sorted(invoked)


def test_the_rollback_alarms_see_the_new_code_and_a_rate_not_any_5xx(pkg: Package) -> None:
    resources = pkg.template["Resources"]
    for function, name in FUNCTIONS[pkg.app].items():
        alarm = resources[name]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Period"]) == ("AWS/Lambda", "Errors", 60)
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}},
                                       {"Name": "Resource", "Value": {"Fn::Sub": f"${{{function}}}:live"}}]
    rate = resources["Api5xxRateAlarm"]["Properties"]
    metrics = {m["Id"]: m for m in rate["Metrics"]}
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in metrics.values() if "MetricStat" in m} == {
        "5XXError", "Count"}
    assert metrics["rate"]["Expression"] == "IF(requests >= 20, 100 * errors / requests, 0)"
    assert rate["Threshold"] == {"Ref": "Rollback5xxRatePercent"}
    assert rate["ComparisonOperator"] == "GreaterThanThreshold"
    assert (rate["EvaluationPeriods"], rate["DatapointsToAlarm"]) == (3, 3)
    assert pkg.template["Parameters"]["Rollback5xxRatePercent"]["Default"] == 5


def test_traffic_shifting_can_be_forced_all_at_once(tmp_path: Path) -> None:
    out, kept = package("orders", "prod", tmp_path, arch="x86_64", traffic="AllAtOnce")
    template = json.loads((out / "sam.json").read_text())
    assert template["Resources"]["APIHandler"]["Properties"]["DeploymentPreference"]["Type"] == "AllAtOnce"
    assert cfn_lint(template) == () and not kept
    # Packaging again from the same inputs keeps the package as it is (a redeploy changes nothing)...
    built = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert package("orders", "prod", tmp_path, arch="x86_64", traffic="AllAtOnce") == (out, True)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == built
    # ... and a package whose build.json is gone (an interrupted build) is not reused.
    (out / "build.json").unlink()
    assert not reusable(out, inputs_digest("orders", "prod", "x86_64", "AllAtOnce"))


def test_a_package_is_built_anew_when_any_of_its_inputs_changes() -> None:
    digest = inputs_digest("orders", "prod", "x86_64", None)
    assert digest == inputs_digest("orders", "prod", "x86_64", None)
    assert len({digest, inputs_digest("orders", "dev", "x86_64", None), inputs_digest("users", "prod", "x86_64", None),
                inputs_digest("orders", "prod", "arm64", None),
                inputs_digest("orders", "prod", "x86_64", "AllAtOnce")}) == 5


# ---------------------------------------------------------------- arm64

def shared_objects(zip_path: Path) -> List[Tuple[str, Any]]:
    with zipfile.ZipFile(zip_path) as zf:
        return [(n, elf_machine(zf.open(n).read(20))) for n in zf.namelist()
                if n.endswith(".so") or ".so." in n.rsplit("/", 1)[-1]]


def test_functions_and_layers_are_arm64_and_every_shared_object_is_aarch64(pkg: Package) -> None:
    for resource in pkg.template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            assert resource["Properties"]["Architectures"] == ["arm64"]
        if resource.get("Type") == "AWS::Serverless::LayerVersion":
            assert resource["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert json.loads((pkg.dir / "build.json").read_text())["architecture"] == "arm64"
    found = shared_objects(pkg.dir / "layer-deployment.zip") + shared_objects(pkg.dir / "deployment.zip")
    if pkg.app == "users":
        assert found and {machine for _, machine in found} == {0xB7}, found  # the layer carries cryptography, cffi
    else:
        assert found == []  # orders ships pure Python since the X-Ray SDK (and its wrapt) went


def test_the_x86_64_build_holds_only_x86_64_code(x86_64_build: Path) -> None:
    for app in APPS:
        found = shared_objects(x86_64_build / app.name / "dev" / "layer-deployment.zip")
        assert {machine for _, machine in found} == ({0x3E} if app.name == "users" else set()), found
        sam = json.loads((x86_64_build / app.name / "dev" / "sam.json").read_text())
        assert sam["Resources"]["APIHandler"]["Properties"]["Architectures"] == ["x86_64"]


def test_the_build_step_refuses_code_of_the_other_architecture(tmp_path: Path) -> None:
    elf = bytearray(b"\x7fELF\x02\x01\x01" + bytes(11) + (0x3E).to_bytes(2, "little"))
    wheel = "Wheel-Version: 1.0\nTag: cp313-cp313-manylinux_2_17_x86_64\n"
    site = "python/lib/python3.13/site-packages/"
    zip_path = tmp_path / "layer-deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr(site + "fast/_speedups.cpython-313-x86_64-linux-gnu.so", bytes(elf))
        zf.writestr(site + "fast/_rust.abi3.so", bytes(elf))
        zf.writestr(site + "fast-1.0.dist-info/WHEEL", wheel)
    assert check_architecture(zip_path, "x86_64") == 2
    with pytest.raises(BuildError) as caught:
        check_architecture(zip_path, "arm64")
    assert "_speedups.cpython-313-x86_64-linux-gnu.so: ELF machine 0x3e, not arm64's 0xb7" in str(caught.value)
    assert "wheel tag cp313-cp313-manylinux_2_17_x86_64 is not for arm64" in str(caught.value)
    assert elf_machine(io.BytesIO(b"#!/bin/sh\n" + bytes(20)).read(20)) is None


def test_the_build_step_refuses_code_for_another_python(tmp_path: Path) -> None:
    """An extension or wheel for another CPython than the declared runtime fails, naming the file."""
    assert LAMBDA_RUNTIME == "python3.13"  # the fake files below are for 3.12, the one before it
    elf = bytearray(b"\x7fELF\x02\x01\x01" + bytes(11) + (0x3E).to_bytes(2, "little"))
    zip_path = tmp_path / "layer-deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("python/lib/python3.13/site-packages/fast/_speedups.cpython-312-x86_64-linux-gnu.so", bytes(elf))
        zf.writestr("python/lib/python3.13/site-packages/fast-1.0.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nTag: cp312-cp312-manylinux_2_17_x86_64\n")
    with pytest.raises(BuildError) as caught:
        check_architecture(zip_path, "x86_64")
    assert "_speedups.cpython-312-x86_64-linux-gnu.so: built for cpython-312 on x86_64, not python3.13 on x86_64" in \
        str(caught.value)
    assert "wheel tag cp312-cp312-manylinux_2_17_x86_64 is not for python3.13's ABI" in str(caught.value)


# ---------------------------------------------------------------- SnapStart

def test_every_function_runs_the_declared_runtime_with_snapstart_in_prod(pkg: Package) -> None:
    """LAMBDA_RUNTIME (deploy/project.py) on every function and layer; SnapStart on the versions the live
    aliases publish in prod, none in dev; both lint clean (cfn-lint knows which runtimes allow SnapStart)."""
    resources = pkg.template["Resources"]
    functions = {n: r["Properties"] for n, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}
    assert functions and {p["Runtime"] for p in functions.values()} == {LAMBDA_RUNTIME}
    layers = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::Serverless::LayerVersion"]
    assert all(p["CompatibleRuntimes"] == [LAMBDA_RUNTIME] for p in layers)
    expected = {"ApplyOn": "PublishedVersions"} if pkg.stage == "prod" else None
    assert all(p.get("AutoPublishAlias") == "live" for p in functions.values())
    assert {n: p.get("SnapStart") for n, p in functions.items()} == {n: expected for n in functions}
    built = json.loads((pkg.dir / "build.json").read_text())
    assert built == {"architecture": "arm64", "runtime": LAMBDA_RUNTIME, "snapstart": pkg.stage == "prod",
                     "inputs": inputs_digest(pkg.app, pkg.stage, "arm64", None)}
    assert cfn_lint(pkg.template) == ()


def test_snapstart_refuses_a_runtime_without_it() -> None:
    template = {"Resources": {"Fn": {"Type": "AWS::Serverless::Function",
                                     "Properties": {"Runtime": "python3.11", "AutoPublishAlias": "live"}}}}
    with pytest.raises(RolloutError, match=r"SnapStart needs python3.12\+ but the functions run python3.11"):
        add_snapstart(template)


# ---------------------------------------------------------------- WAF, KMS

def test_waf_guards_both_api_stages_in_prod_only(pkg: Package) -> None:
    template = pkg.template
    assert template["Parameters"]["EnableWaf"]["Default"] == ("true" if pkg.stage == "prod" else "false")
    assert template["Conditions"]["UseWaf"] == {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]}
    acl, association = template["Resources"]["WebAcl"], template["Resources"]["WebAclAssociation"]
    dashboard = template["Resources"]["WafDashboard"]
    assert acl["Condition"] == association["Condition"] == dashboard["Condition"] == "UseWaf"
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in props["Rules"]}
    assert set(rules) == {"RateLimitPerIp", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                          "AWSManagedRulesAmazonIpReputationList"}
    block = rules["RateLimitPerIp"]["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    body = json.loads(props["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"])
    assert set(body) == {"Code", "Message"} and body["Code"] == "TooManyRequests"
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    assert "${RestAPI.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]
    filtered = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]["WAF_FILTERED"]
    assert filtered["StatusCode"] == 403
    assert json.loads(filtered["ResponseTemplates"]["application/json"])["Code"] == "Forbidden"


def test_one_key_per_stack_encrypts_tables_logs_and_the_alarm_topic(pkg: Package) -> None:
    resources = pkg.template["Resources"]
    key = resources["StackKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == ("Retain" if pkg.stage == "prod" else "Delete")
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert statements["CloudWatchAlarmsPublishToTheEncryptedTopic"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"}  # the AWS-managed SNS key would not let alarms publish
    assert "kms:EncryptionContext:aws:logs:arn" in statements["CloudWatchLogsEncryptsThisStacksLogGroups"]["Condition"][
        "ArnLike"]
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::Logs::LogGroup":
            assert resource["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["StackKey", "Arn"]}, name
        if resource.get("Type") == "AWS::DynamoDB::Table":
            assert resource["Properties"]["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "StackKey"}, name
    assert resources["AlarmsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "StackKey"}


# ---------------------------------------------------------------- checkov

@pytest.fixture(scope="session")
def checkov_results(packages: Packages) -> Dict[Tuple[str, str], Dict[str, List[Any]]]:
    """One checkov run over the four packaged templates, its checks grouped by template."""
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed in .venv-checkov: run `make deps`")
    files = {str(pkg.dir / "sam.json"): key for key, pkg in packages.items()}
    command = [str(CHECKOV), "--skip-download", "--framework", "cloudformation", "-o", "json"]
    for name in files:
        command += ["-f", name]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    results: Dict[Tuple[str, str], Dict[str, List[Any]]] = {
        key: {"passed_checks": [], "failed_checks": [], "skipped_checks": []} for key in files.values()}
    for kind, checks in json.loads(proc.stdout)["results"].items():
        for check in checks if kind in ("passed_checks", "failed_checks", "skipped_checks") else []:
            results[files[check["file_abs_path"]]][kind].append(check)
    return results


def test_checkov_finds_nothing_and_every_skip_has_a_reason(
        checkov_results: Dict[Tuple[str, str], Dict[str, List[Any]]], capsys: pytest.CaptureFixture[str]) -> None:
    counts = []
    for (app, stage), results in checkov_results.items():
        failed = [f"{c['check_id']} {c['resource']}" for c in results["failed_checks"]]
        assert failed == [], f"{app}/{stage}: {failed}"
        assert len(results["passed_checks"]) > 30
        for check in results["skipped_checks"]:
            reason = check["check_result"].get("suppress_comment") or ""
            assert len(reason) > 40, f"{app}/{stage} {check['check_id']} {check['resource']}: no reason"
        counts.append(f"{app}/{stage} {len(results['passed_checks'])} passed, 0 failed, "
                      f"{len(results['skipped_checks'])} skipped")
    with capsys.disabled():
        print("\ncheckov: " + "; ".join(counts))
