"""The pipeline as code: the GitHub Actions workflows and the deploy role they assume (deploy/README.md, "Pipeline").

- The workflows validate against GitHub's workflow schema (check-jsonschema's vendored copy, no network), use
  OIDC and never stored keys, and run in the order the README describes (tests, dev, integration suite, prod
  behind the `prod` environment), with one deploy of a stage at a time.
- The role template passes cfn-lint, trusts only this repository's main branch and prod environment, and
  grants an allowlisted set of actions per statement, each on the project's resources; every other resource
  is a documented exception. The resources the packaged stacks really create (names as CloudFormation
  generates them) are checked against the policy with a small evaluator, and every permission the
  CloudFormation resource handlers list for the stacks' resource types (cfn-lint's provider schemas) is
  either granted or listed here as not needed, with the template property that would make it needed.
"""
import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

import pytest
from ruamel.yaml import YAML

from deploy.aws.deploy import DEFAULT_PREFIX, default_bucket, stack_name
from deploy.project import APPS, LAMBDA_RUNTIME, ROOT
from tests.support.packaging import Package, cfn_lint

WORKFLOWS = ROOT / ".github" / "workflows"
TEST_WORKFLOW = WORKFLOWS / "test.yml"
DEPLOY_WORKFLOW = WORKFLOWS / "deploy.yml"
ROLE_TEMPLATE = ROOT / "deploy" / "aws" / "pipeline" / "github-deploy-role.json"
STAGES = ("dev", "prod")
ISSUER = "token.actions.githubusercontent.com"
PROJECT_TAG = ("project", "serverless-patterns-chalice")  # deploy.py's `--tags project=...`

# What a fake account looks like once the template's ${AWS::...} are filled in.
ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"
OWNER, REPO = "acme", "shop"

# Sid -> the only actions that statement may hold. A change to the role's actions is a change here too.
ALLOWED_ACTIONS: Dict[str, Set[str]] = {
    "CloudFormationProjectStacks": {
        "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplateSummary",
        "cloudformation:TagResource", "cloudformation:UntagResource"},
    "CloudFormationSamTransform": {"cloudformation:CreateChangeSet"},
    "ArtifactBucketCreate": {"s3:CreateBucket"},
    "ArtifactBucketObjects": {"s3:ListBucket", "s3:PutObject", "s3:GetObject", "s3:GetObjectVersion",
                              "s3:AbortMultipartUpload"},
    "IamProjectRoles": {
        "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
        "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags"},
    "IamAttachOnlyApiGatewayLogsPolicy": {"iam:AttachRolePolicy", "iam:DetachRolePolicy"},
    "IamPassProjectRolesToLambdaAndApiGateway": {"iam:PassRole"},
    "IamReadApiGatewayLoggingRole": {"iam:GetRole"},
    "LambdaProjectFunctions": {
        "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunctionConcurrency",
        "lambda:GetFunctionCodeSigningConfig", "lambda:GetRuntimeManagementConfig",
        "lambda:GetFunctionRecursionConfig", "lambda:GetFunctionScalingConfig", "lambda:TagResource",
        "lambda:UntagResource", "lambda:ListTags", "lambda:AddPermission", "lambda:RemovePermission",
        "lambda:GetPolicy"},
    "LambdaChaliceLayers": {"lambda:PublishLayerVersion", "lambda:GetLayerVersion", "lambda:DeleteLayerVersion"},
    "DynamoDbProjectTables": {
        "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
        "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive", "dynamodb:DescribeContinuousBackups",
        "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeContributorInsights",
        "dynamodb:DescribeKinesisStreamingDestination", "dynamodb:GetResourcePolicy", "dynamodb:ListTagsOfResource",
        "dynamodb:TagResource", "dynamodb:UntagResource"},
    "DynamoDbDevItemsForIntegrationSuite": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
                                            "dynamodb:Query", "dynamodb:Scan"},
    "CognitoCreateProjectUserPool": {"cognito-idp:CreateUserPool"},
    "CognitoProjectUserPools": {
        "cognito-idp:DescribeUserPool", "cognito-idp:UpdateUserPool", "cognito-idp:DeleteUserPool",
        "cognito-idp:SetUserPoolMfaConfig", "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:AddCustomAttributes",
        "cognito-idp:TagResource", "cognito-idp:UntagResource", "cognito-idp:ListTagsForResource",
        "cognito-idp:CreateUserPoolClient", "cognito-idp:DescribeUserPoolClient", "cognito-idp:UpdateUserPoolClient",
        "cognito-idp:DeleteUserPoolClient", "cognito-idp:ListUserPoolClientSecrets",
        "cognito-idp:CreateUserPoolDomain", "cognito-idp:UpdateUserPoolDomain", "cognito-idp:DeleteUserPoolDomain",
        "cognito-idp:CreateGroup", "cognito-idp:GetGroup", "cognito-idp:UpdateGroup", "cognito-idp:DeleteGroup"},
    "CognitoDevUsersForIntegrationSuite": {
        "cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword",
        "cognito-idp:AdminListGroupsForUser", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminDeleteUser"},
    "CognitoDescribeDomain": {"cognito-idp:DescribeUserPoolDomain"},
    "ApiGatewayRestApis": {"apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH",
                           "apigateway:DELETE"},
    "ApiGatewayAccountLoggingRole": {"apigateway:GET", "apigateway:PATCH"},
    "LogsProjectLogGroups": {
        "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
        "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource", "logs:GetDataProtectionPolicy",
        "logs:DeleteDataProtectionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey"},
    "LogsDescribe": {"logs:DescribeLogGroups", "logs:DescribeIndexPolicies", "logs:DescribeResourcePolicies"},
    "SnsProjectTopics": {
        "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:TagResource",
        "sns:UntagResource", "sns:ListTagsForResource", "sns:GetDataProtectionPolicy", "sns:Subscribe",
        "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes",
        "sns:ListSubscriptionsByTopic"},
    "CloudWatchProjectAlarms": {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
                                "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"},
    "CloudWatchProjectDashboards": {"cloudwatch:PutDashboard", "cloudwatch:GetDashboard",
                                    "cloudwatch:DeleteDashboards", "cloudwatch:TagResource",
                                    "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"},
    # the managed policy (releases, WAF, the stack keys)
    "LambdaProjectVersionsAndAliases": {
        "lambda:PublishVersion", "lambda:ListVersionsByFunction", "lambda:GetFunctionConfiguration",
        "lambda:CreateAlias", "lambda:GetAlias", "lambda:UpdateAlias", "lambda:DeleteAlias",
        "lambda:GetProvisionedConcurrencyConfig"},
    "IamPassCodeDeployRolesToCodeDeploy": {"iam:PassRole"},
    "CodeDeployProjectApplicationsAndGroups": {
        "codedeploy:CreateApplication", "codedeploy:GetApplication", "codedeploy:DeleteApplication",
        "codedeploy:CreateDeploymentGroup", "codedeploy:GetDeploymentGroup", "codedeploy:UpdateDeploymentGroup",
        "codedeploy:DeleteDeploymentGroup", "codedeploy:CreateDeployment", "codedeploy:GetDeployment",
        "codedeploy:ListDeployments", "codedeploy:TagResource", "codedeploy:UntagResource",
        "codedeploy:ListTagsForResource"},
    "CodeDeployLambdaDeploymentConfigs": {"codedeploy:GetDeploymentConfig"},
    "CodeDeployStopDeployment": {"codedeploy:StopDeployment"},
    "WafProjectWebAcls": {"wafv2:CreateWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:GetWebACL",
                          "wafv2:TagResource", "wafv2:UntagResource", "wafv2:ListTagsForResource",
                          "wafv2:AssociateWebACL", "wafv2:GetWebACLForResource"},
    "WafAwsManagedRuleGroups": {"wafv2:CreateWebACL", "wafv2:UpdateWebACL"},
    "WafApiStages": {"wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "wafv2:GetWebACLForResource",
                     "apigateway:SetWebACL"},
    "KmsCreateProjectKeys": {"kms:CreateKey"},
    "KmsTagProjectKeysOnCreate": {"kms:TagResource"},
    "KmsProjectKeys": {
        "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
        "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:UpdateKeyDescription", "kms:TagResource",
        "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"},
    "KmsProjectAliases": {"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"},
    "KmsListAliases": {"kms:ListAliases"},
    "KmsProjectKeysThroughDynamoDb": {"kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:RevokeGrant"},
}

# Every resource starts with one of these (the project's names), unless it is a documented exception below.
PROJECT_PREFIXES = tuple(p.format(a=ACCOUNT, r=REGION) for p in (
    "arn:aws:cloudformation:{r}:{a}:stack/serverless-patterns-",
    "arn:aws:s3:::serverless-patterns-artifacts-",
    "arn:aws:iam::{a}:role/serverless-patterns-",
    "arn:aws:lambda:{r}:{a}:function:serverless-patterns-",
    "arn:aws:dynamodb:{r}:{a}:table/serverless-patterns-",
    "arn:aws:logs:{r}:{a}:log-group:/aws/lambda/serverless-patterns-",
    "arn:aws:logs:{r}:{a}:log-group:/aws/apigateway/serverless-patterns-",
    "arn:aws:sns:{r}:{a}:serverless-patterns-",
    "arn:aws:cloudwatch:{r}:{a}:alarm:serverless-patterns-",
    "arn:aws:cloudwatch::{a}:dashboard/serverless-patterns-",
    "arn:aws:codedeploy:{r}:{a}:application:serverless-patterns-",
    "arn:aws:codedeploy:{r}:{a}:deploymentgroup:serverless-patterns-",
    "arn:aws:wafv2:{r}:{a}:regional/webacl/serverless-patterns-",
    "arn:aws:kms:{r}:{a}:alias/serverless-patterns-",
))
# Sid -> the resources outside the project's prefixes it may name; its StatementReasons entry says why.
EXCEPTIONS: Dict[str, Set[str]] = {
    "CloudFormationSamTransform": {f"arn:aws:cloudformation:{REGION}:aws:transform/Serverless-2016-10-31"},
    "IamReadApiGatewayLoggingRole": {f"arn:aws:iam::{ACCOUNT}:role/*"},
    "LambdaChaliceLayers": {f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{app}-{stage}-managed-layer{version}"
                            for app in ("users", "orders") for stage in STAGES for version in ("", ":*")},
    "CognitoCreateProjectUserPool": {"*"},
    "CognitoProjectUserPools": {f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/*"},
    "CognitoDevUsersForIntegrationSuite": {f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/*"},
    "CognitoDescribeDomain": {"*"},
    "ApiGatewayRestApis": {f"arn:aws:apigateway:{REGION}::/restapis", f"arn:aws:apigateway:{REGION}::/restapis/*",
                           f"arn:aws:apigateway:{REGION}::/tags/*"},
    "ApiGatewayAccountLoggingRole": {f"arn:aws:apigateway:{REGION}::/account"},
    "LogsDescribe": {"*"},
    "CodeDeployLambdaDeploymentConfigs": {f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentconfig:"
                                          "CodeDeployDefault.Lambda*"},
    "CodeDeployStopDeployment": {"*"},
    "WafAwsManagedRuleGroups": {f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/managedruleset/*"},
    "WafApiStages": {f"arn:aws:apigateway:{REGION}::/restapis/*/stages/api"},
    "KmsCreateProjectKeys": {"*"},
    "KmsTagProjectKeysOnCreate": {f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"},
    "KmsProjectKeys": {f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"},
    "KmsListAliases": {"*"},
    "KmsProjectKeysThroughDynamoDb": {f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"},
}


# ---------------------------------------------------------------- the template, resolved

NO_VALUE = object()


class Resolver:
    """Enough of CloudFormation to read this template: Ref, Fn::Sub (string form), Fn::If/Equals/Not, NoValue."""

    def __init__(self, template: Dict[str, Any], parameters: Mapping[str, str],
                 partition: str = PARTITION, region: str = REGION, account: str = ACCOUNT) -> None:
        self.template = template
        self.values: Dict[str, str] = {
            name: parameters.get(name, spec.get("Default", "")) for name, spec in template["Parameters"].items()}
        self.values.update({"AWS::Partition": partition, "AWS::Region": region, "AWS::AccountId": account})
        self.provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{ISSUER}"

    def physical_id(self, logical_id: str) -> str:
        """What Ref gives for the template's own resources (both kinds return an ARN)."""
        resource = self.template["Resources"][logical_id]
        if resource["Type"] == "AWS::IAM::OIDCProvider":
            return self.provider_arn
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            name = self.resolve(resource["Properties"]["ManagedPolicyName"])
            return f"arn:{self.values['AWS::Partition']}:iam::{self.values['AWS::AccountId']}:policy/{name}"
        raise AssertionError(f"the test's resolver does not know what Ref {logical_id} gives: teach it")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                if arg in self.template["Resources"]:
                    return self.physical_id(arg)
                return self.values[arg]
            if key == "Fn::Sub":
                assert isinstance(arg, str), "only the string form of Fn::Sub is resolved here"
                return re.sub(r"\$\{([^}]+)\}", lambda m: self.values[m.group(1)], arg)
            if key == "Fn::If":
                name, then, otherwise = arg
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Condition":
                return self.condition(arg)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}


@lru_cache(maxsize=None)
def role_template_text() -> str:
    return ROLE_TEMPLATE.read_text()


def role_template() -> Dict[str, Any]:
    return json.loads(role_template_text())


def resolved(parameters: Optional[Mapping[str, str]] = None, **pseudo: str) -> Dict[str, Any]:
    """The template with GitHubOrg/GitHubRepo (and any other parameters) filled in."""
    template = role_template()
    return Resolver(template, {"GitHubOrg": OWNER, "GitHubRepo": REPO, **(parameters or {})},
                    **pseudo).resolve(template)


def managed_policies(template: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """ManagedPolicyName -> properties of each AWS::IAM::ManagedPolicy the (resolved) template defines."""
    return {r["Properties"]["ManagedPolicyName"]: r["Properties"] for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::ManagedPolicy"}


def policy_documents(template: Optional[Dict[str, Any]] = None) -> Dict[str, List[Dict[str, Any]]]:
    """The role's permissions: "inline" -> its inline policy documents, "managed" -> the documents of the
    managed policies it attaches (each one this template defines: test_the_role_attaches_only_its_own_policies)."""
    template = template or resolved()
    role = template["Resources"]["DeployRole"]["Properties"]
    managed = managed_policies(template)
    return {"inline": [p["PolicyDocument"] for p in role["Policies"]],
            "managed": [managed[arn.split(":policy/", 1)[1]]["PolicyDocument"]
                        for arn in role.get("ManagedPolicyArns", [])]}


def statements(template: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    """Every statement of every policy the role has (inline and attached)."""
    return [s for docs in policy_documents(template).values() for doc in docs for s in doc["Statement"]]


def as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """IAM's StringEquals/ArnEquals for single-valued keys (a missing key does not match)."""
    for operator, keys in condition.items():
        if operator not in ("StringEquals", "ArnEquals"):
            raise AssertionError(f"the test's evaluator does not know {operator}: teach it before using it")
        for key, expected in keys.items():
            if context.get(key) not in as_list(expected):
                return False
    return True


def allows(action: str, resource: str, context: Optional[Mapping[str, str]] = None,
           policy: Optional[List[Dict[str, Any]]] = None) -> bool:
    """Does any Allow statement grant `action` on `resource` (IAM wildcards, conditions against `context`)?"""
    for statement in policy if policy is not None else statements():
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in as_list(statement["Resource"])):
            continue
        if holds(statement.get("Condition", {}), context or {}):
            return True
    return False


@lru_cache(maxsize=None)
def iam_reference() -> Dict[str, Any]:
    """cfn-lint's copy of the Service Authorization Reference: services -> actions -> resource types."""
    import cfnlint

    return json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())


def has_resource_level_permission(action: str) -> bool:
    service, name = action.split(":")
    entry = iam_reference()[service]["Actions"][name.lower()]
    return bool(entry.get("Resources"))


def reasons() -> Dict[str, str]:
    return role_template()["Resources"]["DeployRole"]["Metadata"]["StatementReasons"]


# ---------------------------------------------------------------- role template: lint, trust, actions, resources

def test_role_template_passes_cfn_lint() -> None:
    assert cfn_lint(role_template()) == ()


def test_the_oidc_provider_is_created_only_without_an_existing_one() -> None:
    template = role_template()
    provider = template["Resources"]["GitHubOidcProvider"]
    assert provider["Type"] == "AWS::IAM::OIDCProvider"
    assert provider["Condition"] == "CreateOidcProvider"
    assert template["Conditions"]["CreateOidcProvider"] == {"Fn::Equals": [{"Ref": "ExistingOidcProviderArn"}, ""]}
    assert provider["Properties"] == {"Url": f"https://{ISSUER}", "ClientIdList": ["sts.amazonaws.com"]}
    existing = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}-given"  # told apart from the one the stack makes
    for given, expected in (("", f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"), (existing, existing)):
        (statement,) = resolved({"ExistingOidcProviderArn": given})["Resources"]["DeployRole"]["Properties"][
            "AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Federated": expected}
    assert re.fullmatch(template["Parameters"]["ExistingOidcProviderArn"]["AllowedPattern"],
                        f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}")


@pytest.mark.parametrize("trusted, subjects", [
    ("main-and-prod", [f"repo:{OWNER}/{REPO}:ref:refs/heads/main", f"repo:{OWNER}/{REPO}:environment:prod"]),
    ("main-only", [f"repo:{OWNER}/{REPO}:ref:refs/heads/main"]),
    ("prod-only", [f"repo:{OWNER}/{REPO}:environment:prod"]),
])
def test_trust_pins_audience_and_subject_to_main_and_prod(trusted: str, subjects: List[str]) -> None:
    role = resolved({"TrustedJobs": trusted})["Resources"]["DeployRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement["Principal"]) == {"Federated"}
    # exact matches only: no StringLike, no wildcard in a subject, nothing but aud and sub
    assert statement["Condition"] == {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com",
                                                       f"{ISSUER}:sub": subjects}}
    assert role_template()["Parameters"]["TrustedJobs"]["Default"] == "main-and-prod"


def test_trust_parameters_refuse_what_would_widen_the_subject() -> None:
    parameters = role_template()["Parameters"]
    for name in ("GitHubOrg", "GitHubRepo"):
        pattern = parameters[name]["AllowedPattern"]
        assert re.fullmatch(pattern, "acme-corp.io_1" if name == "GitHubRepo" else "acme-corp")
        for bad in ("*", "acme/*", "acme:ref", "", "a b"):
            assert not re.fullmatch(pattern, bad), (name, bad)


def test_every_statement_is_allowlisted_and_explained() -> None:
    found = statements()
    sids = [s["Sid"] for s in found]
    assert len(sids) == len(set(sids))
    assert set(sids) == set(ALLOWED_ACTIONS), "a statement was added or removed: update ALLOWED_ACTIONS"
    assert set(reasons()) == set(sids), "every statement needs its StatementReasons entry"
    for statement in found:
        assert statement["Effect"] == "Allow" and not {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
        actions = as_list(statement["Action"])
        assert set(actions) == ALLOWED_ACTIONS[statement["Sid"]], statement["Sid"]
        for action in actions:
            assert action != "*" and "*" not in action and "?" not in action, (statement["Sid"], action)


def test_every_action_exists() -> None:
    for statement in statements():
        for action in as_list(statement["Action"]):
            service, name = action.split(":")
            assert name.lower() in iam_reference()[service]["Actions"], action


def test_resources_are_the_projects_or_a_documented_exception() -> None:
    for statement in statements():
        sid = statement["Sid"]
        outside = {r for r in as_list(statement["Resource"]) if not r.startswith(PROJECT_PREFIXES)}
        assert outside == EXCEPTIONS.get(sid, set()), sid
        if sid in EXCEPTIONS:
            assert reasons()[sid].startswith("Exception"), f"{sid}: say why in its StatementReasons entry"


def test_star_resources_only_where_the_service_has_no_resource_level_permission() -> None:
    for statement in statements():
        if "*" in as_list(statement["Resource"]):
            assert as_list(statement["Resource"]) == ["*"]
            for action in as_list(statement["Action"]):
                assert not has_resource_level_permission(action), f"{action} can be scoped to a resource"
        else:
            for action in as_list(statement["Action"]):
                assert has_resource_level_permission(action), f"{action} needs Resource *"


def test_the_stack_and_artifact_names_are_the_ones_deploy_py_uses() -> None:
    (cfn,) = [s for s in statements() if s["Sid"] == "CloudFormationProjectStacks"]
    expected = {f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name(DEFAULT_PREFIX, app.name, stage)}/*"
                for app in APPS for stage in STAGES}
    assert set(cfn["Resource"]) == expected

    class CreatesNothing:
        region = REGION

        def run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
            return subprocess.CompletedProcess(args, 0)

    bucket = default_bucket(CreatesNothing(), DEFAULT_PREFIX, ACCOUNT)
    assert allows("s3:CreateBucket", f"arn:aws:s3:::{bucket}")
    assert not allows("s3:CreateBucket", "arn:aws:s3:::serverless-patterns-artifacts-other")
    own = {"s3:ResourceAccount": ACCOUNT}
    for action in ("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:AbortMultipartUpload"):
        assert allows(action, f"arn:aws:s3:::{bucket}/users-dev/abc123", own)
        # a bucket of that name that another account holds is never written to or read
        assert not allows(action, f"arn:aws:s3:::{bucket}/users-dev/abc123", {"s3:ResourceAccount": "999999999999"})
    assert allows("s3:ListBucket", f"arn:aws:s3:::{bucket}", own)


def test_tag_conditions_match_the_tags_make_deploy_gives_the_stacks() -> None:
    source = (ROOT / "deploy" / "aws" / "deploy.py").read_text()
    assert f'"{PROJECT_TAG[0]}={PROJECT_TAG[1]}", f"stage={{stage}}"' in source, \
        "deploy.py's stack tags changed: the Cognito conditions of the deploy role rely on them"
    pool = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_AbCdEf123"
    tagged = {f"aws:ResourceTag/{PROJECT_TAG[0]}": PROJECT_TAG[1]}
    assert allows("cognito-idp:CreateUserPool", "*", {f"aws:RequestTag/{PROJECT_TAG[0]}": PROJECT_TAG[1]})
    assert not allows("cognito-idp:CreateUserPool", "*", {})
    assert allows("cognito-idp:UpdateUserPool", pool, tagged)
    assert not allows("cognito-idp:UpdateUserPool", pool, {})  # another team's pool
    assert allows("cognito-idp:AdminCreateUser", pool, {**tagged, "aws:ResourceTag/stage": "dev"})
    assert not allows("cognito-idp:AdminCreateUser", pool, {**tagged, "aws:ResourceTag/stage": "prod"})
    pools = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/"
    for statement in statements():
        if any(r.startswith(pools) for r in as_list(statement["Resource"])):
            assert statement["Condition"]["StringEquals"][f"aws:ResourceTag/{PROJECT_TAG[0]}"] == PROJECT_TAG[1]


def test_the_stack_keys_are_the_projects_by_tag_and_used_only_through_dynamodb() -> None:
    """Key ids are generated: every statement on key/* or creating a key needs the project tag, on the request
    (creation) or on the key (the rest); the key's data actions only through DynamoDB."""
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    request = {f"aws:RequestTag/{PROJECT_TAG[0]}": PROJECT_TAG[1]}
    tagged = {f"aws:ResourceTag/{PROJECT_TAG[0]}": PROJECT_TAG[1]}
    via_dynamodb = {**tagged, "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
    assert allows("kms:CreateKey", "*", request) and not allows("kms:CreateKey", "*", {})
    assert allows("kms:TagResource", key, request)  # the tags CreateKey sets
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation", "kms:CreateAlias"):
        assert allows(action, key, tagged), action
        assert not allows(action, key, {}), action  # another team's key
    for action in ("kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:RevokeGrant"):
        assert allows(action, key, via_dynamodb), action
        assert not allows(action, key, tagged), f"{action} outside DynamoDB"
        assert not allows(action, key, {**via_dynamodb, "kms:ViaService": f"lambda.{REGION}.amazonaws.com"})
        assert not allows(action, key, {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}), action
    for action in ("kms:DisableKey", "kms:EnableKey", "kms:DisableKeyRotation", "kms:GenerateDataKey",
                   "kms:ReEncryptFrom"):
        assert not allows(action, key, {**via_dynamodb, **request}), action
    alias = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/"
    assert allows("kms:CreateAlias", f"{alias}serverless-patterns-users-prod")
    assert not allows("kms:CreateAlias", f"{alias}aws/dynamodb") and not allows("kms:DeleteAlias", f"{alias}billing")
    keys = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
    for statement in statements():
        creates = "kms:CreateKey" in as_list(statement["Action"])
        if creates or any(r.startswith(keys) for r in as_list(statement["Resource"])):
            condition = statement["Condition"]["StringEquals"]
            assert PROJECT_TAG[1] in (condition.get(f"aws:RequestTag/{PROJECT_TAG[0]}"),
                                      condition.get(f"aws:ResourceTag/{PROJECT_TAG[0]}")), statement["Sid"]


def test_codedeploy_and_waf_only_on_the_projects_names() -> None:
    codedeploy = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:"
    group = "deploymentgroup:serverless-patterns-orders-prod-ServerlessDeploymentApplication-a1b2c3d4e5f6/" \
            "serverless-patterns-orders-prod-APIHandlerDeploymentGroup-a1b2c3d4e5f6"
    assert allows("codedeploy:CreateDeployment", codedeploy + group)
    assert not allows("codedeploy:CreateDeployment", f"{codedeploy}deploymentgroup:billing-app/billing-group")
    assert not allows("codedeploy:DeleteApplication", f"{codedeploy}application:billing-app")
    assert allows("codedeploy:GetDeploymentConfig", f"{codedeploy}deploymentconfig:CodeDeployDefault.LambdaAllAtOnce")
    assert not allows("codedeploy:GetDeploymentConfig", f"{codedeploy}deploymentconfig:CodeDeployDefault.OneAtATime")
    webacl = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/"
    assert allows("wafv2:UpdateWebACL", f"{webacl}serverless-patterns-users-prod-api/a1b2c3d4")
    for action in ("wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:AssociateWebACL"):
        assert not allows(action, f"{webacl}billing-api/a1b2c3d4"), action
    stage = f"arn:aws:apigateway:{REGION}::/restapis/a1b2c3d4e5/stages/"
    assert allows("apigateway:SetWebACL", f"{stage}api") and allows("wafv2:DisassociateWebACL", f"{stage}api")
    assert not allows("apigateway:SetWebACL", f"{stage}prod") and not allows("wafv2:AssociateWebACL", f"{stage}v1")


def test_pass_role_only_to_lambda_and_api_gateway_and_the_codedeploy_roles_to_codedeploy() -> None:
    granting = [s for s in statements()
                if any(fnmatch.fnmatchcase("iam:passrole", a.lower()) for a in as_list(s["Action"]))]
    assert [s["Sid"] for s in granting] == ["IamPassProjectRolesToLambdaAndApiGateway",
                                            "IamPassCodeDeployRolesToCodeDeploy"]
    statement, codedeploy = granting
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com",
                                                                               "apigateway.amazonaws.com"]}}
    assert codedeploy["Condition"] == {"StringEquals": {"iam:PassedToService": ["codedeploy.amazonaws.com"]}}
    role = f"arn:aws:iam::{ACCOUNT}:role/serverless-patterns-users-dev-ApiHandlerRole-0123456789ab"
    assert allows("iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allows("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows("iam:PassRole", role, {})
    # CodeDeploy gets each stack's CodeDeployRole, never a function's role
    assert not allows("iam:PassRole", role, {"iam:PassedToService": "codedeploy.amazonaws.com"})
    deployer = f"arn:aws:iam::{ACCOUNT}:role/serverless-patterns-orders-prod-CodeDeployRole-0123456789ab"
    assert allows("iam:PassRole", deployer, {"iam:PassedToService": "codedeploy.amazonaws.com"})
    assert not allows("iam:PassRole", deployer, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/other-team-CodeDeployRole-0123456789ab",
                      {"iam:PassedToService": "codedeploy.amazonaws.com"})


def test_only_the_api_gateway_logging_policy_can_be_attached() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/serverless-patterns-users-ApiGatewayCloudWatchRole-0123456789ab"
    logs_policy = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    for action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy"):
        assert allows(action, role, {"iam:PolicyARN": logs_policy})
        assert not allows(action, role, {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"})
        assert not allows(action, role, {})


def test_the_deploy_role_cannot_change_itself() -> None:
    name = role_template()["Resources"]["DeployRole"]["Properties"]["RoleName"]
    assert not name.lower().startswith(DEFAULT_PREFIX)
    own = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    for statement in statements():
        for action in as_list(statement["Action"]):
            if action.startswith("iam:") and action != "iam:GetRole":
                assert not allows(action, own, {"iam:PassedToService": "lambda.amazonaws.com",
                                                "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}), action


def test_item_access_and_test_users_only_on_dev() -> None:
    for app, table in (("users", "UsersTable"), ("orders", "OrdersTable"), ("orders", "IdempotencyTable")):
        for action in ALLOWED_ACTIONS["DynamoDbDevItemsForIntegrationSuite"]:
            dev = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/serverless-patterns-{app}-dev-{table}-ABC123"
            assert allows(action, dev)
            assert not allows(action, dev.replace("-dev-", "-prod-")), action
    assert "dev" in reasons()["DynamoDbDevItemsForIntegrationSuite"]


def policy_size(document: Dict[str, Any]) -> int:
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"))))


def test_the_policy_fits_iams_size_limits() -> None:
    """10,240 characters for all of a role's inline policies together, 6,144 for each managed policy, whitespace
    not counted, and at most 10 managed policies per role (IAM's default quotas); the longest region and
    partition names make the longest policy."""
    longest = policy_documents(resolved(partition="aws-iso-b", region="ap-southeast-5", account=ACCOUNT))
    inline = sum(policy_size(doc) for doc in longest["inline"])
    assert inline <= 10_240, inline
    for doc in longest["managed"]:
        assert policy_size(doc) <= 6_144, (policy_size(doc), [s["Sid"] for s in doc["Statement"]])
    assert len(longest["managed"]) <= 10


def test_the_role_attaches_only_its_own_policies() -> None:
    """No AWS managed or other policy rides along: every attached policy is defined (and read) here, attached
    only through the role's ManagedPolicyArns (so the role shows all it holds), and out of the role's own reach."""
    template = resolved()
    role = template["Resources"]["DeployRole"]["Properties"]
    managed = managed_policies(template)
    arns = {f"arn:aws:iam::{ACCOUNT}:policy/{name}" for name in managed}
    assert sorted(role.get("ManagedPolicyArns", [])) == sorted(arns), "attach each policy this template defines, only"
    for properties in managed.values():
        assert not {"Roles", "Groups", "Users"} & set(properties), "attach it through the role's ManagedPolicyArns"
        assert not properties["ManagedPolicyName"].lower().startswith(DEFAULT_PREFIX)
    for arn in arns:
        for action in granted_actions():
            if action.startswith("iam:"):
                assert not allows(action, arn, {"iam:PassedToService": "lambda.amazonaws.com"}), (action, arn)


# ---------------------------------------------------------------- the role against the packaged stacks

def generated_name(stack: str, logical_id: str, max_length: int) -> str:
    """A physical name as CloudFormation makes one when the template gives none: <stack>-<logical id>-<12 chars>,
    the stack name and the logical id sharing what is left of max_length evenly (the longer one gets the rest)."""
    free = max_length - 14
    parts = [0, 0]
    wanted = [len(stack), len(logical_id)]
    while free > 0 and parts != wanted:
        share = max(1, free // 2)
        for i in range(2):
            take = min(share, wanted[i] - parts[i], free)
            parts[i] += take
            free -= take
    return f"{stack[:parts[0]]}-{logical_id[:parts[1]]}-a1b2c3d4e5f6"


def test_generated_names_keep_the_project_prefix() -> None:
    """The roles' `serverless-patterns-*` rests on this: even a cut stack name keeps its first 25 characters."""
    cut = generated_name("serverless-patterns-users-prod", "ApiGatewayCloudWatchRole", 64)
    assert len(cut) <= 64 and cut.startswith("serverless-patterns-users-"), cut
    assert generated_name("serverless-patterns-users-dev", "APIHandler", 64) == \
        "serverless-patterns-users-dev-APIHandler-a1b2c3d4e5f6"


def sub_stack(value: Any, stack: str) -> str:
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    assert isinstance(text, str)
    return text.replace("${AWS::StackName}", stack)


def arns_of(resource_type: str, logical_id: str, props: Dict[str, Any], stack: str) -> List[str]:
    """The ARNs the role must cover for one packaged resource, named as CloudFormation will name it."""
    prefix = f"{REGION}:{ACCOUNT}"
    if resource_type == "AWS::Lambda::Function":
        return [f"arn:aws:lambda:{prefix}:function:{generated_name(stack, logical_id, 64)}"]
    if resource_type == "AWS::Lambda::Permission":
        return [f"arn:aws:lambda:{prefix}:function:{generated_name(stack, 'APIHandler', 64)}"]
    if resource_type in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):  # the function's ARN, and qualified
        (function,) = [props["FunctionName"]["Ref"]]
        function_arn = f"arn:aws:lambda:{prefix}:function:{generated_name(stack, function, 64)}"
        return [function_arn, f"{function_arn}:{props['Name'] if resource_type == 'AWS::Lambda::Alias' else 7}"]
    if resource_type == "AWS::Lambda::LayerVersion":
        return [f"arn:aws:lambda:{prefix}:layer:{props['LayerName']}",
                f"arn:aws:lambda:{prefix}:layer:{props['LayerName']}:7"]
    if resource_type == "AWS::IAM::Role":
        assert "RoleName" not in props and "Path" not in props
        return [f"arn:aws:iam::{ACCOUNT}:role/{generated_name(stack, logical_id, 64)}"]
    if resource_type == "AWS::DynamoDB::Table":
        return [f"arn:aws:dynamodb:{prefix}:table/{generated_name(stack, logical_id, 255)}"]
    if resource_type in ("AWS::SNS::Topic", "AWS::SNS::Subscription"):
        topic = f"arn:aws:sns:{prefix}:{generated_name(stack, 'AlarmsTopic', 256)}"
        return [topic] if resource_type == "AWS::SNS::Topic" else [f"{topic}:0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"]
    if resource_type == "AWS::Logs::LogGroup":
        name = sub_stack(props["LogGroupName"], stack)
        return [f"arn:aws:logs:{prefix}:log-group:{name}", f"arn:aws:logs:{prefix}:log-group:{name}:*"]
    if resource_type == "AWS::CloudWatch::Alarm":
        return [f"arn:aws:cloudwatch:{prefix}:alarm:{sub_stack(props['AlarmName'], stack)}"]
    if resource_type == "AWS::CloudWatch::Dashboard":
        return [f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{sub_stack(props['DashboardName'], stack)}"]
    if resource_type.startswith("AWS::Cognito::"):
        return [f"arn:aws:cognito-idp:{prefix}:userpool/{REGION}_AbCdEf123"]
    if resource_type == "AWS::ApiGateway::Account":
        return [f"arn:aws:apigateway:{REGION}::/account"]
    if resource_type.startswith("AWS::ApiGateway::"):
        return [f"arn:aws:apigateway:{REGION}::/restapis", f"arn:aws:apigateway:{REGION}::/restapis/a1b2c3d4e5",
                f"arn:aws:apigateway:{REGION}::/restapis/a1b2c3d4e5/stages/api",
                f"arn:aws:apigateway:{REGION}::/tags/arn%3Aaws%3Aapigateway%3A{REGION}%3A%3A%2Frestapis%2Fa1b2c3d4e5"]
    raise AssertionError(f"{resource_type} ({logical_id}) is new to the stacks: give the deploy role what "
                         f"CloudFormation needs to create, update and delete it, then name its ARN here")


def sub_list(value: Any) -> str:
    """The list form of Fn::Sub with literal variables: {"Fn::Sub": ["a${X}", {"X": "b"}]} -> "ab"."""
    text, variables = value["Fn::Sub"]
    return re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], text)


def web_acl_arn(props: Dict[str, Any], stack: str) -> str:
    return f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/{sub_stack(props['Name'], stack)}/" \
           "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"


def typed_arns_of(resource_type: str, logical_id: str, props: Dict[str, Any], stack: str,
                  siblings: Mapping[str, Tuple[str, Dict[str, Any]]]) -> Optional[Dict[str, List[str]]]:
    """For resources whose handlers act on ARNs of several IAM resource types: the ARNs by the resource type names
    of the Service Authorization Reference, so that each action is checked on the kinds it names. None: arns_of.
    `siblings`: logical id -> (type, properties) of the stack's resources, for the ones this one refers to."""
    prefix = f"{REGION}:{ACCOUNT}"
    key = f"arn:aws:kms:{prefix}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    if resource_type == "AWS::KMS::Key":
        return {"key": [key]}
    if resource_type == "AWS::KMS::Alias":  # an alias call is authorized on the alias and on its key
        return {"alias": [f"arn:aws:kms:{prefix}:{sub_stack(props['AliasName'], stack)}"], "key": [key]}
    if resource_type == "AWS::WAFv2::WebACL":  # its managed rule groups in the caller's account, as documented
        groups = [f"arn:aws:wafv2:{prefix}:regional/managedruleset/{statement['Name']}/a1b2c3d4-EXAMPLE"
                  for rule in props["Rules"] for kind, statement in rule["Statement"].items()
                  if kind == "ManagedRuleGroupStatement"]
        return {"webacl": [web_acl_arn(props, stack)], "managedruleset": groups}
    if resource_type == "AWS::WAFv2::WebACLAssociation":
        acl_type, acl = siblings[props["WebACLArn"]["Fn::GetAtt"][0]]
        assert acl_type == "AWS::WAFv2::WebACL"

        def physical(name: str) -> str:
            pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
            if name in pseudo:
                return pseudo[name]
            kind, sibling = siblings[name]
            return {"AWS::ApiGateway::RestApi": "a1b2c3d4e5", "AWS::ApiGateway::Stage": sibling.get("StageName")}[kind]

        stage = re.sub(r"\$\{([^}]+)\}", lambda m: physical(m.group(1)), props["ResourceArn"]["Fn::Sub"])
        return {"webacl": [web_acl_arn(acl, stack)], "apigateway": [stage], "Stage": [stage]}
    if resource_type == "AWS::CodeDeploy::Application":
        return {"application": [f"arn:aws:codedeploy:{prefix}:application:{generated_name(stack, logical_id, 100)}"]}
    if resource_type == "AWS::CodeDeploy::DeploymentGroup":
        application = generated_name(stack, props["ApplicationName"]["Ref"], 100)
        group = f"{application}/{generated_name(stack, logical_id, 100)}"
        return {"deploymentgroup": [f"arn:aws:codedeploy:{prefix}:deploymentgroup:{group}"],
                "deploymentconfig": [f"arn:aws:codedeploy:{prefix}:deploymentconfig:"
                                     f"{sub_list(props['DeploymentConfigName'])}"]}
    return None


def iam_resource_types(action: str) -> List[str]:
    service, name = action.split(":")
    return list(iam_reference()[service]["Actions"][name.lower()].get("Resources", []))


# Actions in the CloudFormation resource handlers' lists (cfn-lint's provider schemas) that the role leaves
# out. Each entry: actions (fnmatch patterns), why, and template property names that would make them needed
# (or property values that keep them unneeded): test_not_needed_holds_for_the_packaged_templates fails as soon as
# a packaged resource has such a property or another value.
@dataclass(frozen=True)
class NotNeeded:
    actions: Tuple[str, ...]
    why: str
    needed_with: Tuple[str, ...]  # regexes on property names, anywhere in a resource's Properties
    types: Tuple[str, ...] = ()   # only for these types (empty: any type)
    # (type, top-level property, regex its JSON must match) where a property's name alone cannot tell: every
    # resource of that type must have the property with such a value; any other value (or none) makes them
    # needed (a web ACL association always has a ResourceArn: what it names matters)
    only_while: Tuple[Tuple[str, str, str], ...] = ()


NOT_NEEDED = (
    NotNeeded(("kms:DisableKey", "kms:EnableKey"), "every key stays enabled (no Enabled property): disabling the "
              "stack key would stop its tables, log groups and topic", (r"^Enabled$",), ("AWS::KMS::Key",)),
    NotNeeded(("kms:DisableKeyRotation",), "every key rotates", (), ("AWS::KMS::Key",),
              (("AWS::KMS::Key", "EnableKeyRotation", r"^true$"),)),
    NotNeeded(("kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"),
              "no function or user pool names a key of its own (a function's KmsKeyArn: Lambda encrypts environment "
              "variables and SnapStart snapshots with its AWS managed key; a pool's custom sender KMSKeyID), and "
              "the hosted UI has a prefix domain; the stack key's users are the tables, log groups and topic, and "
              "the role's grants on it are DynamoDB's (kms:ViaService), not the functions' or Cognito's",
              (r"^KmsKeyArn$", r"^KMSKeyID$", r"^CustomDomainConfig$")),
    NotNeeded(("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces",
               "elasticfilesystem:*", "s3files:*"), "no function runs in a VPC or mounts a file system",
              (r"^VpcConfig$", r"^FileSystemConfigs$")),
    NotNeeded(("iam:CreateServiceLinkedRole",), "no table replica, Cognito SMS or analytics configuration needs a "
              "service-linked role; creating one is not the pipeline's to do",
              (r"^Replicas$", r"^SmsConfiguration$", r"^AnalyticsConfiguration$")),
    NotNeeded(("iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"),
              "no role has a permissions boundary, and the deploy role must not be able to remove one",
              (r"^PermissionsBoundary$",)),
    NotNeeded(("lambda:GetCodeSigningConfig", "lambda:PutFunctionCodeSigningConfig",
               "lambda:DeleteFunctionCodeSigningConfig"), "no function has a code signing config",
              (r"^CodeSigningConfigArn$",)),
    NotNeeded(("lambda:PutFunctionConcurrency",), "no function reserves concurrency",
              (r"^ReservedConcurrentExecutions$",)),
    NotNeeded(("lambda:PutFunctionRecursionConfig",), "no function sets RecursiveLoop", (r"^RecursiveLoop$",)),
    NotNeeded(("lambda:PutRuntimeManagementConfig",), "no function pins its runtime version",
              (r"^RuntimeManagementConfig$",)),
    NotNeeded(("lambda:PutFunctionScalingConfig", "lambda:PassCapacityProvider", "lambda:AssociateRuntimeAlias"),
              "no function runs on a capacity provider", (r"^CapacityProviderConfig$", r"^FunctionScalingConfig$")),
    NotNeeded(("lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig"),
              "no alias or version keeps provisioned concurrency (SAM puts a function's on its alias)",
              (r"^ProvisionedConcurrencyConfig$",)),
    NotNeeded(("codedeploy:RegisterApplicationRevision", "codedeploy:GetApplicationRevision"),
              "no deployment group deploys a revision of its own when it is created or updated (its Deployment "
              "property: an S3 or GitHub revision, for EC2 or on-premises); the Lambda deployments are the ones "
              "CloudFormation starts for the alias updates, their AppSpec inline",
              (r"^Deployment$",), ("AWS::CodeDeploy::DeploymentGroup",)),
    NotNeeded(("codedeploy:RegisterOnPremisesInstance",), "no deployment group targets on-premises instances "
              "(or deploys a revision of its own)",
              (r"^OnPremisesInstanceTagFilters$", r"^OnPremisesTagSet$", r"^Deployment$"),
              ("AWS::CodeDeploy::DeploymentGroup",)),
    NotNeeded(("dynamodb:ImportTable", "dynamodb:DescribeImport", "s3:GetObjectMetadata", "logs:CreateLogStream",
               "logs:DescribeLogStreams", "logs:PutLogEvents"), "no table is imported from S3 (the import writes "
              "its errors to CloudWatch Logs)", (r"^ImportSourceSpecification$",), ("AWS::DynamoDB::Table",)),
    NotNeeded(("dynamodb:CreateTableReplica", "dynamodb:AssociateTableReplica", "dynamodb:BatchWriteItem",
               "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem",
               "dynamodb:Query", "dynamodb:Scan"), "no table has replicas or is imported (the item actions are for "
              "those; the ones granted on dev tables are the integration suite's, not the handler's)",
              (r"^Replicas$", r"^ImportSourceSpecification$"), ("AWS::DynamoDB::Table",)),
    NotNeeded(("dynamodb:EnableKinesisStreamingDestination", "dynamodb:DisableKinesisStreamingDestination",
               "dynamodb:UpdateKinesisStreamingDestination", "kinesis:*"), "no table streams to Kinesis",
              (r"^KinesisStreamSpecification$",)),
    NotNeeded(("dynamodb:UpdateContributorInsights",), "no table enables contributor insights",
              (r"^ContributorInsightsSpecification$",)),
    NotNeeded(("dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"), "no table has a resource policy",
              (r"^ResourcePolicy$",), ("AWS::DynamoDB::Table",)),
    NotNeeded(("logs:PutDataProtectionPolicy", "sns:PutDataProtectionPolicy"), "no data protection policy",
              (r"^DataProtectionPolicy$",)),
    NotNeeded(("logs:PutIndexPolicy", "logs:DeleteIndexPolicy"), "no field index policy",
              (r"^FieldIndexPolicies$",)),
    NotNeeded(("logs:PutResourcePolicy", "logs:DeleteResourcePolicy"), "no log group resource policy",
              (r"^ResourcePolicyDocument$",)),
    NotNeeded(("logs:CreateLogDelivery", "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream",
               "logs:PutBearerTokenAuthentication"), "no log delivery or bearer-token ingestion",
              (r"^BearerTokenAuthenticationEnabled$", r"^LogGroupClass$")),
    NotNeeded(("logs:PutLogGroupDeletionProtection",), "no log group sets deletion protection",
              (r"^DeletionProtectionEnabled$",), ("AWS::Logs::LogGroup",)),
    NotNeeded(("apigateway:UpdateRestApiPolicy",), "no REST API has a resource policy", (r"^Policy$",),
              ("AWS::ApiGateway::RestApi",)),
    NotNeeded(("cloudfront:updateDistribution",), "the hosted UI uses a Cognito prefix domain, not a custom one",
              (r"^CustomDomainConfig$",)),
    NotNeeded(("amplify:*", "appsync:*", "apprunner:*", "bedrock-agentcore:*", "cognito-idp:*WebACL*",
               "elasticloadbalancing:*", "ec2:*VerifiedAccess*"), "each web ACL association protects the stack's "
              "API stage (ResourceArn: an API Gateway stage); these are for the other things a regional web ACL "
              "can protect (Amplify apps, AppSync APIs, App Runner services, AgentCore gateways, Cognito user "
              "pools, load balancers, Verified Access instances)", (),
              ("AWS::WAFv2::WebACLAssociation",),
              (("AWS::WAFv2::WebACLAssociation", "ResourceArn", r'^\{"Fn::Sub": "arn:\$\{AWS::Partition\}:apigateway:'
                r'\$\{AWS::Region\}::/restapis/\$\{\w+\}/stages/\$\{\w+\}"\}$'),)),
    NotNeeded(("wafv2:GetPermissionPolicy", "wafv2:PutPermissionPolicy"), "they read and set a rule group's "
              "sharing policy (rule groups only); each association joins the stack's own web ACL (WebACLArn: the "
              "GetAtt Arn of its WebACL), which references no rule group of its own or of another account",
              (r"^RuleGroupReferenceStatement$",), (),
              (("AWS::WAFv2::WebACLAssociation", "WebACLArn", r'^\{"Fn::GetAtt": \["\w+", "Arn"\]\}$'),)),
    NotNeeded(("payments:GetConnectedAccount",), "no web ACL charges AI bots for access (WAF checks the connected "
              "account that such payments settle to)",
              (r"^MonetizationConfig$", r"^ConnectedAccountConfig$", r"^CryptoConfig$"), ("AWS::WAFv2::WebACL",)),
)


def handler_permissions(resource_type: str) -> Set[str]:
    """What CloudFormation's resource handler for the type may call on create, read, update and delete."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region=REGION, resource_type=resource_type).schema
    handlers = schema.get("handlers", {})
    assert handlers, f"cfn-lint has no handler permissions for {resource_type}"
    return {p for op in ("create", "read", "update", "delete") for p in handlers.get(op, {}).get("permissions", [])}


def not_needed(action: str) -> Optional[NotNeeded]:
    return next((n for n in NOT_NEEDED if any(fnmatch.fnmatchcase(action, a) for a in n.actions)), None)


def stack_resources(packages: Dict[Tuple[str, str], Package]) -> Iterator[Tuple[str, str, str, Dict[str, Any]]]:
    """(stack name, logical id, type, properties) of every resource the four stacks create (after SAM)."""
    for (app, stage), pkg in packages.items():
        for logical_id, resource in pkg.transformed["Resources"].items():
            yield (stack_name(DEFAULT_PREFIX, app, stage), logical_id, resource["Type"],
                   resource.get("Properties", {}))


def property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("Fn::") and key != "Ref":
                yield key
            yield from property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from property_names(item)


def granted_actions() -> Set[str]:
    return {a for s in statements() for a in as_list(s["Action"])}


@pytest.fixture(scope="module")
def resource_types(packages: Dict[Tuple[str, str], Package]) -> Set[str]:
    return {type_ for _, _, type_, _ in stack_resources(packages)}


def test_every_handler_permission_is_granted_or_not_needed(resource_types: Set[str]) -> None:
    missing: Dict[str, List[str]] = {}
    for type_ in sorted(resource_types):
        for action in sorted(handler_permissions(type_) - granted_actions()):
            if not_needed(action) is None:
                missing.setdefault(action, []).append(type_)
    assert not missing, f"grant these (or say in NOT_NEEDED why not): {missing}"


def test_not_needed_entries_are_current(resource_types: Set[str]) -> None:
    listed = set().union(*(handler_permissions(t) for t in resource_types))
    for entry in NOT_NEEDED:
        for pattern in entry.actions:
            assert any(fnmatch.fnmatchcase(a, pattern) for a in listed), f"{pattern} is no longer asked for: drop it"


def test_not_needed_holds_for_the_packaged_templates(packages: Dict[Tuple[str, str], Package]) -> None:
    for stack, logical_id, type_, props in stack_resources(packages):
        names = set(property_names(props))
        for entry in NOT_NEEDED:
            for only_type, name, rx in entry.only_while:
                value = json.dumps(props.get(name))
                assert type_ != only_type or re.search(rx, value), (
                    f"{stack} {logical_id} ({type_}) has {name} {value}: the deploy role may now need "
                    f"{entry.actions} (NOT_NEEDED said: {entry.why})")
            if entry.types and type_ not in entry.types:
                continue
            hits = sorted(n for n in names for rx in entry.needed_with if re.search(rx, n))
            assert not hits, (f"{stack} {logical_id} ({type_}) has {hits}: the deploy role now needs "
                              f"{entry.actions} (NOT_NEEDED said: {entry.why})")


def test_the_role_covers_every_resource_the_stacks_create(packages: Dict[Tuple[str, str], Package]) -> None:
    """Each handler action of each packaged resource is allowed on that resource's ARN, the ARN named the way
    CloudFormation names it (the condition keys set the way `make deploy` makes them hold)."""
    tags = {f"aws:ResourceTag/{PROJECT_TAG[0]}": PROJECT_TAG[1], f"aws:RequestTag/{PROJECT_TAG[0]}": PROJECT_TAG[1]}
    context = {**tags, "iam:PassedToService": "lambda.amazonaws.com",
               "iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    layers = {stack: arns_of(type_, logical_id, props, stack)[1] for stack, logical_id, type_, props
              in stack_resources(packages) if type_ == "AWS::Lambda::LayerVersion"}
    siblings: Dict[str, Dict[str, Tuple[str, Dict[str, Any]]]] = {}
    for stack, logical_id, type_, props in stack_resources(packages):
        siblings.setdefault(stack, {})[logical_id] = (type_, props)
    problems = []
    for stack, logical_id, type_, props in stack_resources(packages):
        services = {"Logs": ("logs",), "CloudWatch": ("cloudwatch",), "Cognito": ("cognito-idp",),
                    "ApiGateway": ("apigateway",), "DynamoDB": ("dynamodb",), "SNS": ("sns",), "IAM": ("iam",),
                    "Lambda": ("lambda",), "CodeDeploy": ("codedeploy",), "KMS": ("kms",),
                    "WAFv2": ("wafv2", "apigateway")}[type_.split("::")[1]]  # SetWebACL: API Gateway's side
        typed = typed_arns_of(type_, logical_id, props, stack, siblings[stack])
        for action in sorted(handler_permissions(type_)):
            if not action.startswith(tuple(f"{s}:" for s in services)) or not_needed(action):
                continue
            if not has_resource_level_permission(action):
                targets = ["*"]
            elif typed is not None:  # the resource's ARNs of the kinds the action names
                targets = [arn for kind in iam_resource_types(action) for arn in typed.get(kind, [])]
                assert targets, f"{type_}: no ARN of a kind {action} names ({iam_resource_types(action)})"
            else:
                targets = arns_of(type_, logical_id, props, stack)
            if type_ == "AWS::Lambda::LayerVersion":  # the layer itself for publishing, a version for the rest
                targets = targets[:1] if action == "lambda:PublishLayerVersion" else targets[1:]
            elif action == "lambda:GetLayerVersion":  # a function reads the layer version it names
                targets = [layers[stack]]
            problems += [f"{stack} {logical_id}: {action} on {arn}" for arn in targets
                         if not allows(action, arn, context)]
    assert not problems, "\n".join(problems)


def test_the_pass_role_targets_are_the_stacks_roles(packages: Dict[Tuple[str, str], Package]) -> None:
    for stack, logical_id, type_, props in stack_resources(packages):
        if type_ != "AWS::IAM::Role":
            continue
        (role_arn,) = arns_of(type_, logical_id, props, stack)
        (principal,) = {s["Principal"]["Service"] for s in props["AssumeRolePolicyDocument"]["Statement"]}
        assert allows("iam:PassRole", role_arn, {"iam:PassedToService": principal}), (stack, logical_id)
        for policy_arn in props.get("ManagedPolicyArns", []):
            policy = sub_stack(policy_arn, stack).replace("${AWS::Partition}", "aws")
            assert allows("iam:AttachRolePolicy", role_arn, {"iam:PolicyARN": policy}), (logical_id, policy)


def test_the_tools_calls_are_allowed() -> None:
    """What deploy.py, `aws cloudformation deploy` and the integration suite call besides the resource handlers."""
    stack = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/serverless-patterns-orders-prod/6b1d2f60-1f1e-11ef"
    for action in ("DescribeStacks", "GetTemplateSummary", "CreateChangeSet", "DescribeChangeSet",
                   "ExecuteChangeSet", "DescribeStackEvents"):
        assert allows(f"cloudformation:{action}", stack), action
    assert not allows("cloudformation:DeleteStack", stack)
    assert not allows("cloudformation:CreateChangeSet", stack.replace("orders-prod", "billing-prod"))
    assert allows("cloudformation:CreateChangeSet", f"arn:aws:cloudformation:{REGION}:aws:transform/"
                                                    "Serverless-2016-10-31")
    assert allows("apigateway:GET", f"arn:aws:apigateway:{REGION}::/account")
    assert allows("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/some-teams-apigateway-logs-role")
    assert not allows("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/some-teams-apigateway-logs-role")
    assert not allows("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:serverless-patterns-x")
    # sts:GetCallerIdentity needs no permission, and no deploy call needs X-Ray
    assert not {a for a in granted_actions() if a.startswith(("sts:", "xray:"))}


# ---------------------------------------------------------------- workflows

def load_workflow(path: Path) -> Dict[str, Any]:
    """YAML 1.2 (ruamel, check-jsonschema's parser), so that the key `on` stays a string."""
    data: Dict[str, Any] = YAML(typ="safe", pure=True).load(path.read_text())
    return data


def steps(job: Mapping[str, Any]) -> List[Dict[str, Any]]:
    return list(job.get("steps", []))


def uses(step: Mapping[str, Any]) -> str:
    return str(step.get("uses", ""))


def runs(job: Mapping[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def aws_steps(job: Mapping[str, Any]) -> List[Dict[str, Any]]:
    return [s for s in steps(job) if uses(s).startswith("aws-actions/configure-aws-credentials@")]


CHECK_JSONSCHEMA_OFFLINE = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled by tests/deploy/test_pipeline.py")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from check_jsonschema import main
sys.argv = ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", *sys.argv[1:]]
main()
"""


def check_jsonschema_offline(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHECK_JSONSCHEMA_OFFLINE, *map(str, files)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})


def test_workflows_validate_against_githubs_schema_offline() -> None:
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
    assert {f.name for f in files} == {"test.yml", "deploy.yml"}
    proc = check_jsonschema_offline(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(DEPLOY_WORKFLOW.read_text().replace("id-token: write", "id-token: writ", 1))
    proc = check_jsonschema_offline(broken)
    assert proc.returncode == 1 and "writ" in proc.stdout, proc.stdout + proc.stderr


def test_pull_requests_run_make_test_with_the_ci_tools() -> None:
    workflow = load_workflow(TEST_WORKFLOW)
    assert "pull_request" in workflow["on"] and "workflow_call" in workflow["on"]
    assert "pull_request_target" not in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert str(job["runs-on"]).startswith("ubuntu-")
    assert re.search(r"^make test\b", runs(job), re.M)
    setup = {uses(s).split("@")[0]: s.get("with", {}) for s in steps(job)}
    assert python_versions(job) == ["3.13", "3.11"]  # the Lambda runtime that packages; make's python3 last
    assert str(setup["actions/setup-node"]["node-version"]) == "20"
    assert str(setup["actions/setup-java"]["java-version"]) == "17"
    assert workflow["permissions"] == {"contents": "read"}
    assert not aws_steps(job)


def python_versions(job: Mapping[str, Any]) -> List[str]:
    (setup,) = [s.get("with", {}) for s in steps(job) if uses(s).startswith("actions/setup-python@")]
    return str(setup["python-version"]).split()


def test_every_job_that_packages_has_the_declared_lambda_runtime() -> None:
    """`make test` and `make deploy` package under LAMBDA_RUNTIME's interpreter (deploy/aws/runtimes.py)."""
    version = LAMBDA_RUNTIME.removeprefix("python")
    jobs = [job for path in (TEST_WORKFLOW, DEPLOY_WORKFLOW) for job in load_workflow(path)["jobs"].values()
            if re.search(r"^make (test|deploy|package)\b", runs(job), re.M)]
    assert len(jobs) == 3
    assert all(version in python_versions(job) for job in jobs)


def test_no_stored_aws_keys_anywhere() -> None:
    for path in sorted((ROOT / ".github").rglob("*")):
        if path.is_file():
            text = path.read_text().lower()
            for needle in ("aws-access-key-id", "aws-secret-access-key", "aws_access_key_id", "aws_secret_access_key",
                           "secrets.aws_", "aws-session-token"):
                assert needle not in text, f"{path.relative_to(ROOT)} mentions {needle}"
            assert "secrets." not in text, f"{path.relative_to(ROOT)} reads a secret: the pipeline needs none"


def deploy_jobs() -> Dict[str, Dict[str, Any]]:
    return load_workflow(DEPLOY_WORKFLOW)["jobs"]


def stage_of(job: Mapping[str, Any]) -> Optional[str]:
    found = set(re.findall(r"\bmake deploy STAGE=(\w+)", runs(job)))
    assert len(found) <= 1, found
    return found.pop() if found else None


def environment_of(job: Mapping[str, Any]) -> Optional[str]:
    env = job.get("environment")
    return env.get("name") if isinstance(env, dict) else env


def test_deploys_only_from_pushes_to_main() -> None:
    workflow = load_workflow(DEPLOY_WORKFLOW)
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert workflow["permissions"] == {"contents": "read"}  # id-token only where a job assumes the role


def test_every_aws_job_uses_oidc_and_the_role_from_variables() -> None:
    jobs = deploy_jobs()
    with_aws = {name: job for name, job in jobs.items() if aws_steps(job)}
    assert set(with_aws) == {"dev", "prod"}
    for name, job in jobs.items():
        permissions = job.get("permissions", {})
        if name in with_aws:
            assert permissions == {"contents": "read", "id-token": "write"}, name
            (step,) = aws_steps(job)
            assert step["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
            assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
            assert not {k for k in step["with"] if "key" in k or "token" in k}, step["with"]
            first_aws_use = steps(job).index(step)
            later = "\n".join(str(s.get("run", "")) for s in steps(job)[first_aws_use:])
            assert stage_of(job) and f"make deploy STAGE={stage_of(job)}" in later, name
        else:
            assert "id-token" not in permissions, f"{name} does not talk to AWS: no OIDC token"


def test_each_job_is_one_the_role_trusts() -> None:
    """A push to main gives a job without environment the subject ref:refs/heads/main; an environment job gets
    environment:<name>. Each AWS job's subject must be one the (default) trust policy lists."""
    (trust,) = resolved()["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    trusted = set(trust["Condition"]["StringEquals"][f"{ISSUER}:sub"])
    for name, job in deploy_jobs().items():
        if aws_steps(job):
            env = environment_of(job)
            subject = f"repo:{OWNER}/{REPO}:" + (f"environment:{env}" if env else "ref:refs/heads/main")
            assert subject in trusted, (name, subject)


def test_dev_deploys_then_runs_the_integration_suite_against_it() -> None:
    jobs = deploy_jobs()
    dev = jobs["dev"]
    assert stage_of(dev) == "dev" and environment_of(dev) is None
    assert jobs["test"]["uses"] == "./.github/workflows/test.yml" and dev["needs"] == "test"
    commands = [(i, s) for i, s in enumerate(steps(dev)) if s.get("run")]
    deploy_at = next(i for i, s in commands if "make deploy STAGE=dev" in s["run"])
    suite = [(i, s) for i, s in commands if "pytest" in s["run"]]
    assert len(suite) == 1
    at, step = suite[0]
    assert at > deploy_at
    assert step["env"]["INTEGRATION_OUTPUTS"] == "deploy/build/outputs-dev.json"
    assert re.search(r"-m integration\b", step["run"])


def test_prod_waits_for_the_dev_suite_and_the_prod_environment() -> None:
    jobs = deploy_jobs()
    prod = jobs["prod"]
    assert stage_of(prod) == "prod"
    assert environment_of(prod) == "prod"
    needs = as_list(prod["needs"])
    suite_jobs = [name for name, job in jobs.items() if "INTEGRATION_OUTPUTS" in json.dumps(job)]
    assert suite_jobs == ["dev"] and "dev" in needs
    # nothing deploys prod but the environment job
    assert [name for name, job in jobs.items() if stage_of(job) == "prod"] == ["prod"]


def test_two_deploys_of_a_stage_never_overlap() -> None:
    groups: Dict[str, Set[str]] = {}
    for name, job in deploy_jobs().items():
        stage = stage_of(job)
        if stage:
            concurrency = job["concurrency"]
            assert concurrency["cancel-in-progress"] is False, f"{name}: a deploy cancelled half-way"
            assert "${{" not in concurrency["group"], f"{name}: one fixed group per stage"
            groups.setdefault(stage, set()).add(concurrency["group"])
    assert set(groups) == {"dev", "prod"}
    assert all(len(g) == 1 for g in groups.values()) and groups["dev"] != groups["prod"], groups


def test_actions_are_pinned_to_a_version() -> None:
    for path in (TEST_WORKFLOW, DEPLOY_WORKFLOW):
        for job in load_workflow(path)["jobs"].values():
            for step in steps(job):
                ref = uses(step)
                if ref and not ref.startswith("./"):
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})", ref), ref


def test_readme_pipeline_section_names_the_variables_the_workflows_read() -> None:
    readme = (ROOT / "deploy" / "README.md").read_text()
    assert "\n## Pipeline\n" in readme
    section = readme.split("\n## Pipeline\n", 1)[1].split("\n## ", 1)[0]
    read = set(re.findall(r"vars\.(\w+)", DEPLOY_WORKFLOW.read_text()))
    assert read == {"AWS_DEPLOY_ROLE_ARN", "AWS_REGION", "ALARM_EMAIL"}
    for name in sorted(read) + ["github-deploy-role.json", "ExistingOidcProviderArn", "CAPABILITY_NAMED_IAM",
                                "required reviewers"]:
        assert name.lower() in section.lower(), name
