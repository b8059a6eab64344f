"""The packaged CloudFormation templates: lint, SAM transform, and their parameters and outputs as
deploy/README.md ("First deploy") documents them."""
import json
import re
from typing import Any, Dict, List, Set, Tuple

from deploy.local.tables import table_specs
from deploy.project import ROOT, stage_env
from tests.support.packaging import Package, cfn_lint

# role -> table logical id -> the only data actions it may have. Anything else (another service, another
# action, a wildcard, a resource that is not a table ARN) fails the test.
DATA_ACTIONS_ALLOWLIST: Dict[str, Dict[str, Dict[str, Set[str]]]] = {
    "users": {
        "ApiHandlerRole": {"UsersTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                          "dynamodb:DeleteItem", "dynamodb:Scan"}},
        "UsersAuthorizerRole": {},
    },
    "orders": {
        "ApiHandlerRole": {
            "OrdersTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
            "IdempotencyTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                 "dynamodb:DeleteItem"},
        },
    },
}
# The one key action a role with table access gets, on the stack's key and only through DynamoDB (the tables
# are encrypted with it); the authorizer, with no data access, gets none.
TABLE_KEY_STATEMENT = {"Sid": "TablesKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                       "Resource": {"Fn::GetAtt": ["StackKey", "Arn"]},
                       "Condition": {"StringEquals": {
                           "kms:ViaService": {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}}}}
# CodeDeploy's own role (DeploymentPreference.Role): moving the live aliases and reading the alarms, nothing else.
CODEDEPLOY_ACTIONS = {"ShiftTheLiveAliases": {"lambda:GetAlias", "lambda:UpdateAlias",
                                              "lambda:GetProvisionedConcurrencyConfig"},
                      "ReadTheRollbackAlarms": {"cloudwatch:DescribeAlarms"}}
# Non-data actions every function role has; logs are scoped to the function's own log group.
OPERATIONAL_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                       "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
# function resource -> its role and log group
FUNCTIONS = {
    "users": {"APIHandler": ("ApiHandlerRole", "ApiHandlerLogGroup"),
              "UsersAuthorizer": ("UsersAuthorizerRole", "UsersAuthorizerLogGroup")},
    "orders": {"APIHandler": ("ApiHandlerRole", "ApiHandlerLogGroup")},
}
TABLE_ENV = {
    "users": {"USERS_TABLE": "UsersTable"},
    "orders": {"ORDERS_TABLE": "OrdersTable", "IDEMPOTENCY_TABLE": "IdempotencyTable"},
}
TABLES = {"users": ("UsersTable",), "orders": ("OrdersTable", "IdempotencyTable")}
OUTPUTS = {
    "users": {"APIEndpoint", "UserPool", "UserPoolClient", "UserPoolAdminGroupName", "UsersTable",
              "CognitoLoginURL", "CognitoAuthCommand", "AlarmsTopic", "DashboardURL"},
    "orders": {"OrdersServiceEndpoint", "OrdersTable", "IdempotencyTable", "AlarmsTopic", "DashboardURL"},
}
COMMON_PARAMETERS = {"UserPoolAdminGroupName", "AlarmEmail", "CreateApiGatewayCloudWatchRole",
                     "LogRetentionInDays", "ApiThrottlingRateLimit", "ApiThrottlingBurstLimit",
                     "ApiLatencyP99ThresholdMs", "Rollback5xxRatePercent", "EnableWaf",
                     "WafRequestsPer5MinutesPerIp"}
PARAMETERS = {"users": COMMON_PARAMETERS | {"AllowSelfSignUp", "UserPoolDomainPrefix"},
              "orders": COMMON_PARAMETERS | {"UserPool"}}
HOSTED_UI_PREFIX = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"  # Cognito's rule for a prefix domain
ALARMS = {
    "users": {"Api5xxAlarm", "ApiLatencyP99Alarm", "ApiHandlerErrorsAlarm", "ApiHandlerThrottlesAlarm",
              "AuthorizerErrorsAlarm", "AuthorizerThrottlesAlarm",
              "Api5xxRateAlarm", "ApiHandlerLiveErrorsAlarm", "AuthorizerLiveErrorsAlarm"},  # + rollback alarms
    "orders": {"Api5xxAlarm", "ApiLatencyP99Alarm", "ApiHandlerErrorsAlarm", "ApiHandlerThrottlesAlarm",
               "OrderCancellationRateAlarm", "Api5xxRateAlarm", "ApiHandlerLiveErrorsAlarm"},
}
# Gateway responses API Gateway produces itself -> status (None: keeps API Gateway's own 4XX/5XX status)
GATEWAY_RESPONSES = {"UNAUTHORIZED": "401", "ACCESS_DENIED": "403", "AUTHORIZER_FAILURE": "503",
                     "MISSING_AUTHENTICATION_TOKEN": "404", "DEFAULT_4XX": None, "DEFAULT_5XX": None}
API_STAGE = "api"


def of_type(template: Dict[str, Any], type_: str) -> Dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- build and lint

def test_package_has_template_and_artifacts(pkg: Package) -> None:
    for name in ("sam.json", "deployment.zip", "layer-deployment.zip", "chalice/sam.json",
                 "chalice/deployment.zip", "chalice/layer-deployment.zip"):
        assert (pkg.dir / name).is_file(), name
    assert pkg.template["Transform"] == "AWS::Serverless-2016-10-31"


def test_cfn_lint_reports_nothing(pkg: Package) -> None:
    assert cfn_lint(pkg.template) == ()


def test_sam_transform_succeeds_and_lints_clean(pkg: Package) -> None:
    transformed = pkg.transformed
    assert "Transform" not in transformed
    assert not [r for r in transformed["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    assert cfn_lint(transformed) == ()


def test_lint_would_catch_a_broken_template(pkg: Package) -> None:
    broken = json.loads(json.dumps(pkg.template))
    broken["Resources"][TABLES[pkg.app][0]]["Properties"]["BillingMode"] = "FREE"
    assert any(finding.startswith("E") for finding in cfn_lint(broken))


# ---------------------------------------------------------------- inventory

def test_parameters_and_outputs_are_exactly_the_contract(pkg: Package) -> None:
    assert set(pkg.template["Parameters"]) == PARAMETERS[pkg.app]
    assert set(pkg.template["Outputs"]) == OUTPUTS[pkg.app]
    assert pkg.template["Parameters"]["UserPoolAdminGroupName"]["Default"] == "apiAdmins"


def test_no_cognito_pool_arn_or_account_is_hard_coded(pkg: Package) -> None:
    text = json.dumps(pkg.template)
    assert not re.search(r"arn:aws:cognito-idp:[a-z0-9-]+:\d{12}", text)
    assert "REPLACED_BY_MERGE_TEMPLATE" not in text


def test_users_stack_owns_the_user_pool(packages: Dict[Tuple[str, str], Package]) -> None:
    for stage in ("dev", "prod"):
        t = packages[("users", stage)].template
        res = t["Resources"]
        pool = res["UserPool"]["Properties"]
        assert pool["UsernameAttributes"] == ["email"]
        assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 8
        assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] == {
            "Fn::If": ["SelfSignUpAllowed", False, True]}
        assert t["Conditions"]["SelfSignUpAllowed"] == {"Fn::Equals": [{"Ref": "AllowSelfSignUp"}, "true"]}
        assert t["Parameters"]["AllowSelfSignUp"]["Default"] == "true"
        client = res["UserPoolClient"]["Properties"]
        assert client["GenerateSecret"] is False
        assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH",
                                                    "ALLOW_REFRESH_TOKEN_AUTH"}
        assert res["UserPoolDomain"]["Type"] == "AWS::Cognito::UserPoolDomain"
        # the hosted-UI prefix outlives the app client: `make deploy` passes one derived from the stack
        # and the account; without it, the stack id's UUID (unique in every account, never aws/amazon/cognito)
        domain = res["UserPoolDomain"]["Properties"]["Domain"]
        assert "UserPoolClient" not in json.dumps(domain)
        assert domain == {"Fn::If": ["HasUserPoolDomainPrefix", {"Ref": "UserPoolDomainPrefix"},
                                     {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}
        stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/serverless-patterns-users-dev/" \
                   "6b1d2f60-1f1e-11ef-8d8a-0e7b5c3a9f21"
        assert re.fullmatch(HOSTED_UI_PREFIX, stack_id.split("/")[2])
        assert re.fullmatch(t["Parameters"]["UserPoolDomainPrefix"]["AllowedPattern"], "")
        assert not re.fullmatch(t["Parameters"]["UserPoolDomainPrefix"]["AllowedPattern"], "Has-Upper")
        assert res["UserPoolAdminGroup"]["Properties"]["GroupName"] == {"Ref": "UserPoolAdminGroupName"}
        assert t["Outputs"]["UserPool"]["Value"] == {"Ref": "UserPool"}


def test_orders_authorizer_provider_arn_comes_from_the_userpool_parameter(
        packages: Dict[Tuple[str, str], Package]) -> None:
    for stage in ("dev", "prod"):
        pkg = packages[("orders", stage)]
        body = of_type(pkg.transformed, "AWS::ApiGateway::RestApi")["RestAPI"]["Properties"]["Body"]
        cognito = [d for d in body["securityDefinitions"].values()
                   if d["x-amazon-apigateway-authtype"] == "cognito_user_pools"]
        assert len(cognito) == 1
        providers = cognito[0]["x-amazon-apigateway-authorizer"]["providerARNs"]
        assert providers == [{"Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}"
                                         ":userpool/${UserPool}"}]
        # and every orders route requires it
        for path, methods in body["paths"].items():
            for method, operation in methods.items():
                assert operation.get("security"), f"{method.upper()} {path} has no authorizer"


def test_users_routes_use_the_token_authorizer(packages: Dict[Tuple[str, str], Package]) -> None:
    body = of_type(packages[("users", "dev")].transformed, "AWS::ApiGateway::RestApi")["RestAPI"]["Properties"][
        "Body"]
    (definition,) = body["securityDefinitions"].values()
    assert definition["x-amazon-apigateway-authorizer"]["type"] == "token"
    assert definition["x-amazon-apigateway-authorizer"]["authorizerUri"]["Fn::Sub"][1] == {
        "UsersAuthorizerAlias": {"Ref": "UsersAuthorizerAliaslive"}}  # the live alias, never $LATEST
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            assert operation.get("security"), f"{method.upper()} {path} has no authorizer"


def test_the_authorizer_function_is_the_handler_the_app_recognises(packages: Dict[Tuple[str, str], Package]) -> None:
    """users_app/app.py skips the DynamoDB client and the tracer when _HANDLER names the authorizer:
    that name must be the Handler Chalice packages, or the authorizer would pay for both again."""
    declared = re.search(r'^AUTHORIZER_HANDLER = "([^"]+)"$', (ROOT / "users_app" / "app.py").read_text(), re.M)
    assert declared, "users_app/app.py no longer declares AUTHORIZER_HANDLER"
    for stage in ("dev", "prod"):
        functions = of_type(packages[("users", stage)].template, "AWS::Serverless::Function")
        assert functions["UsersAuthorizer"]["Properties"]["Handler"] == declared.group(1)
        assert functions["APIHandler"]["Properties"]["Handler"] != declared.group(1)


# ---------------------------------------------------------------- functions

def test_every_function_points_at_its_tables_and_pool(pkg: Package) -> None:
    functions = of_type(pkg.template, "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS[pkg.app])
    expected_env = stage_env(pkg.app, pkg.stage)
    for name, fn in functions.items():
        env = fn["Properties"]["Environment"]["Variables"]
        for var, table in TABLE_ENV[pkg.app].items():
            assert env[var] == {"Ref": table}, (name, var)
        assert env["ADMIN_GROUP_NAME"] == {"Ref": "UserPoolAdminGroupName"}
        if pkg.app == "users":
            assert env["USER_POOL_ID"] == {"Ref": "UserPool"}
            assert env["APP_CLIENT_ID"] == {"Ref": "UserPoolClient"}
            assert "JWKS_URL" not in env and "JWT_ISSUER" not in env  # derived from the pool: never a local URL
        else:
            assert "${UserPool}" in env["USER_POOL_ARN"]["Fn::Sub"]
        assert "LOCAL_DEBUG" not in env and "AWS_ENDPOINT_URL_DYNAMODB" not in env
        assert env["POWERTOOLS_LOG_LEVEL"] == expected_env["POWERTOOLS_LOG_LEVEL"]
        assert env["POWERTOOLS_SERVICE_NAME"] == expected_env["POWERTOOLS_SERVICE_NAME"]


def test_lambda_settings(pkg: Package) -> None:
    for name, fn in of_type(pkg.template, "AWS::Serverless::Function").items():
        props = fn["Properties"]
        assert props["Timeout"] < 29, name  # below API Gateway's integration timeout
        assert props["MemorySize"] >= 128
        assert props["Tracing"] == "Active"
        role, log_group = FUNCTIONS[pkg.app][name]
        assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert props["LoggingConfig"] == {"LogGroup": {"Ref": log_group}}
        assert pkg.resources[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


# ---------------------------------------------------------------- IAM

def _role_statements(role: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def test_roles_data_actions_are_exactly_the_allowlist_on_table_arns(pkg: Package) -> None:
    roles = of_type(pkg.transformed, "AWS::IAM::Role")
    allowlist = DATA_ACTIONS_ALLOWLIST[pkg.app]
    assert set(roles) == set(allowlist) | {"ApiGatewayCloudWatchRole", "CodeDeployRole"}
    for name, role in roles.items():
        if name == "ApiGatewayCloudWatchRole":
            assert role["Condition"] == "CreateApiGatewayAccount" and not role["Properties"].get("Policies")
            continue
        assert not role["Properties"].get("ManagedPolicyArns"), name
        if name == "CodeDeployRole":
            assert_codedeploy_role(role, pkg)
            continue
        granted: Dict[str, Set[str]] = {}
        for statement in _role_statements(role):
            assert statement["Effect"] == "Allow"
            if statement.get("Sid") == "TablesKey":
                assert statement == TABLE_KEY_STATEMENT and allowlist[name], name
                continue
            actions = set(as_list(statement["Action"]))
            assert not any("*" in a for a in actions), (name, actions)
            data = actions - OPERATIONAL_ACTIONS
            if not data:
                if actions & {"logs:CreateLogStream", "logs:PutLogEvents"}:
                    assert statement["Resource"] != "*", (name, "logs on *")
                continue
            assert data == actions, (name, "data and operational actions mixed in one statement")
            for resource in as_list(statement["Resource"]):
                assert isinstance(resource, dict) and set(resource) == {"Fn::GetAtt"}, (name, resource)
                table, attribute = resource["Fn::GetAtt"]
                assert attribute == "Arn" and table in TABLES[pkg.app], (name, resource)
                granted.setdefault(table, set()).update(data)
        assert granted == allowlist[name], name


def assert_codedeploy_role(role: Dict[str, Any], pkg: Package) -> None:
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"},
                      "Action": "sts:AssumeRole"}]
    statements = {s["Sid"]: s for s in _role_statements(role)}
    assert {sid: set(s["Action"]) for sid, s in statements.items()} == CODEDEPLOY_ACTIONS
    aliases = statements["ShiftTheLiveAliases"]["Resource"]
    assert aliases == [{"Fn::Sub": f"${{{function}.Arn}}:*"} for function in FUNCTIONS[pkg.app]]
    assert statements["ReadTheRollbackAlarms"]["Resource"] == "*"  # DescribeAlarms has no resource-level permission


def test_policy_files_grant_the_same_data_actions(pkg: Package) -> None:
    """The per-stage policy files (used by `chalice deploy`) agree with the packaged roles."""
    chalice_dir = pkg.project.path / ".chalice"
    files = {"ApiHandlerRole": chalice_dir / f"policy-{pkg.stage}.json"}
    if pkg.app == "users":
        files["UsersAuthorizerRole"] = chalice_dir / f"policy-authorizer-{pkg.stage}.json"
    for role, path in files.items():
        statements = json.loads(path.read_text())["Statement"]
        data = set()
        for statement in statements:
            actions = set(as_list(statement["Action"])) - OPERATIONAL_ACTIONS
            if actions:
                assert all(r != "*" and ":table/" in r for r in as_list(statement["Resource"])), path
            data |= actions
        expected = set().union(*DATA_ACTIONS_ALLOWLIST[pkg.app][role].values()) if \
            DATA_ACTIONS_ALLOWLIST[pkg.app][role] else set()
        assert data == expected, path


# ---------------------------------------------------------------- API Gateway

def test_one_stage_named_api_and_no_stray_stage(pkg: Package) -> None:
    stages = of_type(pkg.transformed, "AWS::ApiGateway::Stage")
    assert [s["Properties"]["StageName"] for s in stages.values()] == [API_STAGE]
    for deployment in of_type(pkg.transformed, "AWS::ApiGateway::Deployment").values():
        assert "StageName" not in deployment["Properties"]
    assert pkg.resources["RestAPI"]["Properties"]["StageName"] == API_STAGE
    endpoint = "APIEndpoint" if pkg.app == "users" else "OrdersServiceEndpoint"
    assert pkg.template["Outputs"][endpoint]["Value"]["Fn::Sub"].endswith(f"/{API_STAGE}")


def test_api_is_named_after_the_stack_and_the_5xx_alarm_uses_that_name(pkg: Package) -> None:
    (api,) = of_type(pkg.transformed, "AWS::ApiGateway::RestApi").values()
    name = api["Properties"]["Name"]
    assert name == {"Ref": "AWS::StackName"}
    alarm = pkg.transformed["Resources"]["Api5xxAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/ApiGateway" and alarm["MetricName"] == "5XXError"
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]}["ApiName"] == name
    assert api["Properties"]["Body"]["info"]["title"] == name


def test_stage_tracing_access_logs_and_throttling(pkg: Package) -> None:
    (stage,) = of_type(pkg.transformed, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    log_format = json.loads(props["AccessLogSetting"]["Format"])  # JSON access log lines
    assert {"requestId", "status", "httpMethod", "resourcePath"} <= set(log_format)
    group = props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    assert pkg.transformed["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    (settings,) = props["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["ThrottlingRateLimit"] and settings["ThrottlingBurstLimit"]
    # the optional account-wide CloudWatch role is created before the stage when requested
    assert pkg.transformed["Resources"]["ApiGatewayAccount"]["Condition"] == "CreateApiGatewayAccount"
    assert "ApiGatewayAccount" in json.dumps(props.get("Tags"))


def test_gateway_responses_use_the_json_error_shape(pkg: Package) -> None:
    (api,) = of_type(pkg.transformed, "AWS::ApiGateway::RestApi").values()
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    for kind, status in GATEWAY_RESPONSES.items():
        response = responses[kind]
        assert response.get("statusCode") == status, kind
    for kind, response in responses.items():
        rendered = response["responseTemplates"]["application/json"].replace(
            "$context.error.messageString", '"a message"')
        body = json.loads(rendered)
        assert set(body) == {"Code", "Message"}, kind
    assert json.loads(responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]["application/json"])[
        "Code"] == "NotFound"
    assert responses["AUTHORIZER_FAILURE"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


# ---------------------------------------------------------------- tables

def test_tables_match_the_local_stack_and_are_protected(pkg: Package) -> None:
    local = {spec.logical_id: spec for spec in table_specs()}
    tables = of_type(pkg.template, "AWS::DynamoDB::Table")
    assert set(tables) == set(TABLES[pkg.app])
    for name, table in tables.items():
        props = table["Properties"]
        spec = local[name]
        assert props["KeySchema"] == spec.properties["KeySchema"]
        assert props["AttributeDefinitions"] == spec.properties["AttributeDefinitions"]
        assert props.get("TimeToLiveSpecification") == spec.properties.get("TimeToLiveSpecification")
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                             "KMSMasterKeyId": {"Ref": "StackKey"}}  # the stack's own key
        if pkg.stage == "prod":
            assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
            assert props["DeletionProtectionEnabled"] is True
        else:
            assert table["DeletionPolicy"] == "Delete"
    if pkg.app == "users":
        pool = pkg.resources["UserPool"]
        assert pool["DeletionPolicy"] == ("Retain" if pkg.stage == "prod" else "Delete")


def test_table_keys_and_ttl_are_the_workshop_schema(packages: Dict[Tuple[str, str], Package]) -> None:
    def keys(app: str, table: str) -> List[Tuple[str, str]]:
        return [(k["AttributeName"], k["KeyType"]) for k in
                packages[(app, "prod")].resources[table]["Properties"]["KeySchema"]]

    assert keys("users", "UsersTable") == [("userid", "HASH")]
    assert keys("orders", "OrdersTable") == [("userId", "HASH"), ("orderId", "RANGE")]
    assert keys("orders", "IdempotencyTable") == [("id", "HASH")]
    assert packages[("orders", "prod")].resources["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration", "Enabled": True}


# ---------------------------------------------------------------- alarms and dashboards

def test_alarms_notify_the_topic_and_watch_real_resources(pkg: Package) -> None:
    alarms = of_type(pkg.template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == ALARMS[pkg.app]
    assert pkg.resources["AlarmsTopic"]["Type"] == "AWS::SNS::Topic"
    subscription = pkg.resources["AlarmsEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail" and subscription["Properties"]["Protocol"] == "email"
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmsTopic"}], name
        for dimension in props.get("Dimensions", []):
            if dimension["Name"] == "FunctionName":
                assert dimension["Value"]["Ref"] in FUNCTIONS[pkg.app], name
    latency = alarms["ApiLatencyP99Alarm"]["Properties"]
    assert latency["ExtendedStatistic"] == "p99" and latency["MetricName"] == "Latency"
    if pkg.app == "users":
        assert alarms["AuthorizerErrorsAlarm"]["Properties"]["Dimensions"][0]["Value"] == {"Ref": "UsersAuthorizer"}


def test_business_alarm_and_dashboard_read_the_namespace_the_function_writes(
        packages: Dict[Tuple[str, str], Package]) -> None:
    pkg = packages[("orders", "prod")]
    env = pkg.resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    namespace = env["POWERTOOLS_METRICS_NAMESPACE"]["Fn::Sub"]
    service = env["POWERTOOLS_SERVICE_NAME"]
    metrics = pkg.resources["OrderCancellationRateAlarm"]["Properties"]["Metrics"]
    stats = [m["MetricStat"]["Metric"] for m in metrics if "MetricStat" in m]
    assert {m["MetricName"] for m in stats} == {"SuccessfulOrder", "OrderCanceled"}
    for metric in stats:
        assert metric["Namespace"] == {"Fn::Sub": namespace}
        assert metric["Dimensions"] == [{"Name": "service", "Value": service}]
    body = pkg.resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for metric in ("SuccessfulOrder", "OrderTotal", "OrderCanceled", "OrderAcknowledged"):
        assert f'"{metric}"' in body
    assert f'["{namespace}","SuccessfulOrder","service","{service}"]' in body


def test_dashboards_are_valid_json_and_reference_existing_resources(pkg: Package) -> None:
    body = pkg.resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    references = set(re.findall(r"\$\{([^}]+)\}", body))
    for ref in references:
        base = ref.split(".")[0]
        assert base.startswith("AWS::") or base in pkg.resources, ref
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    alarm_widget = [w for w in widgets if w["type"] == "alarm"][0]
    assert len(alarm_widget["properties"]["alarms"]) == len(ALARMS[pkg.app])


def test_dev_stacks_delete_their_layer_versions_and_prod_keeps_them(pkg: Package) -> None:
    """SAM keeps every layer version unless told otherwise, even when the stack is deleted."""
    layers = [r for r in pkg.transformed["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert len(layers) == 1
    expected = "Retain" if pkg.stage == "prod" else "Delete"
    assert pkg.template["Resources"]["ManagedLayer"]["Properties"]["RetentionPolicy"] == expected
    assert layers[0]["DeletionPolicy"] == expected
