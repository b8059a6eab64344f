"""`aws cloudformation deploy` for an emulated account (moto's server), and nothing else.

The emulated-account test (test_emulated_account.py) runs `make package`, `make deploy`, `make admin`,
`make logs` and `make destroy` for real, with the real AWS CLI pointed at moto. moto 5.2.5 cannot run
our templates as they are (DESIGN.md §3b): it has no SAM transform, fills no outputs after a change set,
ignores a RestApi `Body`, and silently skips the resource types it does not model (then drops every
output or GetAtt naming them). So this module stands in for exactly one command, `aws cloudformation
deploy`, and every substitution it makes is one entry of SUBSTITUTIONS below: the one documented list
(deploy/README.md repeats it, and the test fails when a deploy substitutes anything else, or when a
template holds a type moto does not model and this list does not name).

What it does, in order: transform the packaged template locally (aws-sam-translator); create the
"before" stand-ins through moto's own APIs and write their ids into the template where it referenced
them; drop what moto cannot model; create or update the stack with create-stack / update-stack (which,
unlike change sets, fill the outputs) and wait; create the "after" stand-ins from the stack's resources;
check that no output was dropped. Each substitution is appended to $EMULATED_SUBSTITUTIONS_LOG.

It refuses to run unless every endpoint is loopback: a test must never reach AWS.
"""
import contextlib
import copy
import json
import os
import re
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import boto3

from deploy.aws.target import TargetError
from deploy.aws.target import check as check_target

# type -> (phase, what stands in for it). "before": made through moto's API before the stack, its ids
# written in as literals; "after": made through moto's API once the stack's resources exist; "drop": removed.
SUBSTITUTIONS: Dict[str, Tuple[str, str]] = {
    "AWS::Cognito::UserPool": ("before", "cognito-idp create-user-pool (name, sign-in attributes, password "
                               "policy, self sign-up); Ref and Arn written in as literals"),
    "AWS::Cognito::UserPoolClient": ("before", "cognito-idp create-user-pool-client (auth flows, OAuth flows, "
                                     "scopes, callback URLs); Ref written in"),
    "AWS::Cognito::UserPoolGroup": ("before", "cognito-idp create-group"),
    "AWS::Cognito::UserPoolDomain": ("before", "cognito-idp create-user-pool-domain; Ref (the prefix) written in"),
    "AWS::CloudWatch::Alarm": ("after", "cloudwatch put-metric-alarm with the stack's physical ids; "
                               "GetAtt Arn written in as the alarm's ARN"),
    "AWS::ApiGateway::Account": ("after", "apigateway update-account with the role the stack created"),
    "AWS::SNS::Subscription": ("after", "sns subscribe"),
    "AWS::Lambda::Alias": ("after", "lambda create-alias (update-alias on an update) to the version the stack "
                           "published; Ref written in as the function's ARN and the alias name"),
    "AWS::WAFv2::WebACL": ("after", "wafv2 create-web-acl with the template's rules"),
    "AWS::CodeDeploy::Application": ("drop", "removed: moto's CloudFormation models no CodeDeploy, so traffic "
                                     "shifting and alarm rollback are not exercised"),
    "AWS::CodeDeploy::DeploymentGroup": ("drop", "removed with the application"),
    "AWS::WAFv2::WebACLAssociation": ("drop", "removed: the API stage it protects is removed too"),
    "AWS::ApiGateway::Deployment": ("drop", "removed: moto ignores the RestApi Body, so the API has no "
                                    "methods to deploy"),
    "AWS::ApiGateway::Stage": ("drop", "removed with the deployment it would serve"),
}
# (type, property) -> what is done to it in every resource of that type, and why
PROPERTY_SUBSTITUTIONS: Dict[Tuple[str, str], str] = {
    ("AWS::Lambda::Function", "Layers"): "removed: moto drops a function's layers on create and fails to update "
                                         "them (a Ref to a LayerVersion reaches it as an object, not an ARN)",
    ("AWS::Lambda::Permission", "FunctionName"): "an alias becomes its function: moto looks the alias up when it "
                                                 "creates the permission, before the stand-in alias exists",
}
LOG_ENV = "EMULATED_SUBSTITUTIONS_LOG"
PSEUDO = ("AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix")


class ShimError(Exception):
    pass


# ---------------------------------------------------------------- intrinsic functions
class Resolver:
    """Evaluates the intrinsics our templates use, over known values: parameters, pseudo parameters,
    conditions and `values` ("Name" for a Ref, "Name.Attr" for a GetAtt)."""

    def __init__(self, template: Dict[str, Any], values: Dict[str, Any]) -> None:
        self.template, self.values = template, values

    def condition(self, name: str) -> bool:
        return bool(self(self.template.get("Conditions", {})[name]))

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref", "Condition")):
            return {key: self(value) for key, value in node.items()}
        (name, arg), = node.items()
        return self._function(name, arg)

    def _function(self, name: str, arg: Any) -> Any:
        functions: Dict[str, Callable[[Any], Any]] = {
            "Ref": lambda a: self._known(a),
            "Fn::GetAtt": lambda a: self._known(".".join(a) if isinstance(a, list) else a),
            "Fn::Sub": self._sub,
            "Fn::Join": lambda a: str(self(a[0])).join(str(x) for x in self(a[1])),
            "Fn::Select": lambda a: self(a[1])[int(self(a[0]))],
            "Fn::Split": lambda a: str(self(a[1])).split(self(a[0])),
            "Fn::If": lambda a: self(a[1]) if self.condition(a[0]) else self(a[2]),
            "Fn::Equals": lambda a: self(a[0]) == self(a[1]),
            "Fn::Not": lambda a: not self(a[0]),
            "Fn::And": lambda a: all(self(x) for x in a),
            "Fn::Or": lambda a: any(self(x) for x in a),
            "Condition": lambda a: self.condition(a),
        }
        if name not in functions:
            raise ShimError(f"the shim cannot evaluate {name}")
        return functions[name](arg)

    def _known(self, key: str) -> Any:
        if key not in self.values:
            raise ShimError(f"the shim does not know the value of {key}")
        return self.values[key]

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], {k: self(v) for k, v in arg[1].items()})
        return re.sub(r"\$\{([^}!]+)\}", lambda m: str(extra[m.group(1)] if m.group(1) in extra
                                                        else self._known(m.group(1))), text)


def inline(node: Any, values: Dict[str, str]) -> Any:
    """`node` with every Ref / GetAtt / ${...} naming a key of `values` replaced by its literal value."""
    if isinstance(node, list):
        return [inline(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if list(node) == ["Ref"] and node["Ref"] in values:
        return values[node["Ref"]]
    if list(node) == ["Fn::GetAtt"]:
        key = ".".join(node["Fn::GetAtt"]) if isinstance(node["Fn::GetAtt"], list) else node["Fn::GetAtt"]
        if key in values:
            return values[key]
    if list(node) == ["Fn::Sub"]:
        arg = node["Fn::Sub"]
        text = arg if isinstance(arg, str) else arg[0]
        text = re.sub(r"\$\{([^}!]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)
        return {"Fn::Sub": text if isinstance(arg, str) else [text, inline(arg[1], values)]}
    return {key: inline(value, values) for key, value in node.items()}


# ---------------------------------------------------------------- the deploy command
class Deploy:
    def __init__(self, args: Dict[str, Any]) -> None:
        self.stack: str = args["stack-name"]
        self.region: str = args.get("region") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.overrides: Dict[str, str] = dict(kv.split("=", 1) for kv in args.get("parameter-overrides", []))
        self.tags = [dict(zip(("Key", "Value"), kv.split("=", 1), strict=True)) for kv in args.get("tags", [])]
        self.capabilities: List[str] = args.get("capabilities", [])
        with open(args["template-file"]) as handle:
            self.template = transform(json.load(handle), self.region)
        self.cfn = self.client("cloudformation")
        self.account = self.client("sts").get_caller_identity()["Account"]
        self.existing = self._existing_stack()

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)

    def _existing_stack(self) -> Optional[Dict[str, Any]]:
        try:
            stack = self.cfn.describe_stacks(StackName=self.stack)["Stacks"][0]
        except self.cfn.exceptions.ClientError:
            return None
        return None if stack["StackStatus"] == "DELETE_COMPLETE" else stack

    def parameters(self) -> Dict[str, str]:
        """`deploy` semantics: overrides, else the stack's previous value, else the template default."""
        previous = {p["ParameterKey"]: p["ParameterValue"] for p in (self.existing or {}).get("Parameters", [])}
        values = {}
        for name, spec in self.template.get("Parameters", {}).items():
            value = self.overrides.get(name, previous.get(name, spec.get("Default")))
            if value is None:
                raise ShimError(f"parameter {name} has no value")
            values[name] = str(value)
        return values

    def resolver(self, values: Dict[str, Any]) -> Resolver:
        pseudo = {"AWS::StackName": self.stack, "AWS::Region": self.region, "AWS::AccountId": self.account,
                  "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        return Resolver(self.template, {**pseudo, **self.parameters(), **values})

    def run(self) -> None:
        check_unmodelled(self.template)
        resources = self.template["Resources"]
        active = {name: r for name, r in resources.items()
                  if "Condition" not in r or self.resolver({}).condition(r["Condition"])}
        substituted = {name: r for name, r in active.items() if r["Type"] in SUBSTITUTIONS}
        literals = self.before([(n, r) for n, r in substituted.items() if SUBSTITUTIONS[r["Type"]][0] == "before"])
        literals.update(alarm_arns(self, substituted))
        literals.update(alias_arns(substituted))
        body = copy.deepcopy(self.template)
        removed: set = set()
        for name in substituted:
            body["Resources"].pop(name, None)
        aliases = {n: r["Properties"]["FunctionName"] for n, r in substituted.items()
                   if r["Type"] == "AWS::Lambda::Alias"}
        for resource in body["Resources"].values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::Function" and props.pop("Layers", None) is not None:
                removed.add("AWS::Lambda::Function.Layers")
            if resource["Type"] == "AWS::Lambda::Permission" and props.get("FunctionName", {}).get("Ref") in aliases:
                props["FunctionName"] = aliases[props["FunctionName"]["Ref"]]
                removed.add("AWS::Lambda::Permission.FunctionName")
            if isinstance(resource.get("DependsOn"), list):
                resource["DependsOn"] = [d for d in resource["DependsOn"] if d not in substituted]
            elif resource.get("DependsOn") in substituted:
                resource.pop("DependsOn")
        self.create_or_update(inline(body, literals))
        self.after([(n, r) for n, r in substituted.items() if SUBSTITUTIONS[r["Type"]][0] == "after"], literals)
        self.check_outputs()
        log_substitutions(self.stack, [(n, r["Type"]) for n, r in substituted.items()] + [("*", p) for p in removed])

    # -- stand-ins made before the stack ------------------------------------------------------
    def before(self, items: List[Tuple[str, Dict[str, Any]]]) -> Dict[str, Any]:
        literals: Dict[str, Any] = {}
        idp = self.client("cognito-idp")
        order = ["AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup",
                 "AWS::Cognito::UserPoolDomain"]
        for name, resource in sorted(items, key=lambda item: order.index(item[1]["Type"])):
            props = self.resolver(literals)(resource.get("Properties", {}))
            literals.update(COGNITO[resource["Type"]](idp, name, props))
        return literals

    # -- the stack itself -----------------------------------------------------------------------
    def create_or_update(self, body: Dict[str, Any]) -> None:
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters().items()]
        request = {"StackName": self.stack, "TemplateBody": json.dumps(body), "Parameters": params,
                   "Capabilities": self.capabilities, "Tags": self.tags}
        if self.existing is None:
            self.cfn.create_stack(**request)
            waiter = "stack_create_complete"
        else:
            try:
                self.cfn.update_stack(**request)
            except self.cfn.exceptions.ClientError as exc:
                if "No updates are to be performed" not in str(exc):
                    raise
                return
            waiter = "stack_update_complete"
        self.cfn.get_waiter(waiter).wait(StackName=self.stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        print(f"Successfully created/updated stack - {self.stack}")

    def physical_ids(self) -> Dict[str, str]:
        pages = self.cfn.get_paginator("list_stack_resources").paginate(StackName=self.stack)
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for page in pages
                for r in page["StackResourceSummaries"]}

    # -- stand-ins made after it ----------------------------------------------------------------
    def after(self, items: List[Tuple[str, Dict[str, Any]]], literals: Dict[str, Any]) -> None:
        physical = self.physical_ids()
        values = {**physical, **self.published_versions(physical), **literals}
        for _name, resource in items:
            if resource["Type"] == "AWS::ApiGateway::Account":
                role = resource["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
                values[f"{role}.Arn"] = self.client("iam").get_role(RoleName=values[role])["Role"]["Arn"]
            props = self.resolver(values)(resource.get("Properties", {}))
            AFTER[resource["Type"]](self, props)

    def published_versions(self, physical: Dict[str, str]) -> Dict[str, str]:
        """GetAtt Version.Version of each AWS::Lambda::Version: moto gives the resource no physical id,
        so it is the function's newest published version."""
        lam, found = self.client("lambda"), {}
        for name, resource in self.template["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Version":
                function = physical[resource["Properties"]["FunctionName"]["Ref"]]
                numbers = [int(v["Version"]) for v in lam.list_versions_by_function(FunctionName=function)["Versions"]
                           if v["Version"].isdigit()]
                found[f"{name}.Version"] = str(max(numbers))
        return found

    def check_outputs(self) -> None:
        stack = self.cfn.describe_stacks(StackName=self.stack)["Stacks"][0]
        have = {o["OutputKey"] for o in stack.get("Outputs", [])}
        resolver = self.resolver({})
        want = {name for name, o in self.template.get("Outputs", {}).items()
                if "Condition" not in o or resolver.condition(o["Condition"])}
        if want - have:
            raise ShimError(f"moto dropped the outputs {sorted(want - have)} of {self.stack}: a resource they "
                            f"name is one moto does not model, and SUBSTITUTIONS does not replace it")


def transform(template: Dict[str, Any], region: str) -> Dict[str, Any]:
    from samtranslator.translator.transform import transform as sam_transform

    class NoManagedPolicies:  # our functions name their Role; SAM needs no managed-policy ARNs
        def load(self) -> Dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    return sam_transform(template, {}, NoManagedPolicies())


def check_unmodelled(template: Dict[str, Any]) -> None:
    """Every type moto does not model must have a stand-in here: never a silent skip."""
    from moto.cloudformation.parsing import get_model_map

    modelled = set(get_model_map())
    missing = sorted({r["Type"] for r in template["Resources"].values()} - modelled - set(SUBSTITUTIONS))
    if missing:
        raise ShimError(f"moto does not model {', '.join(missing)}: add a stand-in to SUBSTITUTIONS in "
                        f"tests/support/emulated_account.py and to deploy/README.md")


def alarm_arns(deploy: Deploy, substituted: Dict[str, Dict[str, Any]]) -> Dict[str, str]:
    """GetAtt Alarm.Arn (the dashboards name the alarms) for the alarms made after the stack."""
    arns = {}
    for name, resource in substituted.items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            alarm = deploy.resolver({})(resource["Properties"]["AlarmName"])
            arns[f"{name}.Arn"] = f"arn:aws:cloudwatch:{deploy.region}:{deploy.account}:alarm:{alarm}"
    return arns


def alias_arns(substituted: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Ref Alias (the API definition and the permissions name the live alias) as the alias's ARN, built
    from its function's: the alias itself is made after the stack."""
    return {name: {"Fn::Join": [":", [{"Fn::GetAtt": [r["Properties"]["FunctionName"]["Ref"], "Arn"]},
                                       r["Properties"]["Name"]]]}
            for name, r in substituted.items() if r["Type"] == "AWS::Lambda::Alias"}


def log_substitutions(stack: str, items: List[Tuple[str, str]]) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a") as log:
            for logical_id, kind in items:
                log.write(json.dumps({"stack": stack, "resource": logical_id, "type": kind}) + "\n")


# ---------------------------------------------------------------- the stand-ins
def user_pool(idp: Any, name: str, props: Dict[str, Any]) -> Dict[str, str]:
    found = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == props["UserPoolName"]]
    if found:
        pool = idp.describe_user_pool(UserPoolId=found[0]["Id"])["UserPool"]
    else:
        keys = ("UsernameAttributes", "AutoVerifiedAttributes", "UsernameConfiguration", "Policies",
                "AdminCreateUserConfig", "AccountRecoverySetting")
        pool = idp.create_user_pool(PoolName=props["UserPoolName"], **{k: props[k] for k in keys if k in props},
                                    Schema=props.get("Schema", []))["UserPool"]
    return {name: pool["Id"], f"{name}.Arn": pool["Arn"], f"{name}.ProviderName": pool["Id"]}


def user_pool_client(idp: Any, name: str, props: Dict[str, Any]) -> Dict[str, str]:
    pool = props["UserPoolId"]
    found = [c for c in idp.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"]
             if c["ClientName"] == props["ClientName"]]
    if not found:
        keys = ("GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors", "AllowedOAuthFlowsUserPoolClient",
                "AllowedOAuthFlows", "AllowedOAuthScopes", "CallbackURLs", "SupportedIdentityProviders")
        found = [idp.create_user_pool_client(UserPoolId=pool, ClientName=props["ClientName"],
                                             **{k: props[k] for k in keys if k in props})["UserPoolClient"]]
    return {name: found[0]["ClientId"]}


def user_pool_group(idp: Any, name: str, props: Dict[str, Any]) -> Dict[str, str]:
    groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=props["UserPoolId"])["Groups"]}
    if props["GroupName"] not in groups:
        idp.create_group(**{k: props[k] for k in ("GroupName", "UserPoolId", "Precedence", "Description")
                            if k in props})
    return {name: props["GroupName"]}


def user_pool_domain(idp: Any, name: str, props: Dict[str, Any]) -> Dict[str, str]:
    if not idp.describe_user_pool_domain(Domain=props["Domain"]).get("DomainDescription", {}).get("Domain"):
        idp.create_user_pool_domain(Domain=props["Domain"], UserPoolId=props["UserPoolId"])
    return {name: props["Domain"]}


COGNITO: Dict[str, Callable[[Any, str, Dict[str, Any]], Dict[str, str]]] = {
    "AWS::Cognito::UserPool": user_pool, "AWS::Cognito::UserPoolClient": user_pool_client,
    "AWS::Cognito::UserPoolGroup": user_pool_group, "AWS::Cognito::UserPoolDomain": user_pool_domain,
}


def put_alarm(deploy: Deploy, props: Dict[str, Any]) -> None:
    for key in ("Threshold", "Period", "EvaluationPeriods", "DatapointsToAlarm"):  # Refs to Number parameters
        if isinstance(props.get(key), str):
            props[key] = float(props[key]) if key == "Threshold" else int(props[key])
    deploy.client("cloudwatch").put_metric_alarm(**props)


def set_account(deploy: Deploy, props: Dict[str, Any]) -> None:
    deploy.client("apigateway").update_account(patchOperations=[
        {"op": "replace", "path": "/cloudwatchRoleArn", "value": props["CloudWatchRoleArn"]}])


def subscribe(deploy: Deploy, props: Dict[str, Any]) -> None:
    deploy.client("sns").subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"])


def put_alias(deploy: Deploy, props: Dict[str, Any]) -> None:
    lam = deploy.client("lambda")
    alias = {k: props[k] for k in ("FunctionName", "Name", "FunctionVersion")}
    try:
        lam.update_alias(**alias)
    except lam.exceptions.ResourceNotFoundException:
        lam.create_alias(**alias)


def put_web_acl(deploy: Deploy, props: Dict[str, Any]) -> None:
    waf = deploy.client("wafv2")
    if any(acl["Name"] == props["Name"] for acl in waf.list_web_acls(Scope=props["Scope"])["WebACLs"]):
        return
    for rule in props.get("Rules", []):  # a Ref to a Number parameter arrives as a string
        rate = rule.get("Statement", {}).get("RateBasedStatement")
        if rate and isinstance(rate.get("Limit"), str):
            rate["Limit"] = int(rate["Limit"])
    keys = ("Name", "Scope", "DefaultAction", "Description", "Rules", "VisibilityConfig", "CustomResponseBodies")
    waf.create_web_acl(**{k: props[k] for k in keys if k in props})


AFTER: Dict[str, Callable[[Deploy, Dict[str, Any]], None]] = {
    "AWS::CloudWatch::Alarm": put_alarm, "AWS::ApiGateway::Account": set_account, "AWS::SNS::Subscription": subscribe,
    "AWS::Lambda::Alias": put_alias, "AWS::WAFv2::WebACL": put_web_acl,
}


# ---------------------------------------------------------------- the account itself
@contextlib.contextmanager
def moto_account() -> Iterator[str]:
    """An empty emulated account: moto's server on a free loopback port; yields its endpoint."""
    from moto.server import ThreadedMotoServer

    from deploy.local.processes import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


# ---------------------------------------------------------------- command line
def parse_deploy_args(argv: List[str]) -> Dict[str, Any]:
    """`--name value...` pairs of `aws cloudformation deploy` (lists for the multi-valued ones)."""
    args: Dict[str, Any] = {}
    key = None
    for item in argv:
        if item.startswith("--"):
            key = item[2:]
            args.setdefault(key, True if key.startswith("no-") else [])
        elif key is not None:
            args[key] = args[key] + [item] if isinstance(args[key], list) else [item]
    return {k: v[0] if isinstance(v, list) and len(v) == 1 and k not in ("parameter-overrides", "tags",
                                                                         "capabilities") else v
            for k, v in args.items()}


def main(argv: List[str]) -> int:
    try:
        check_target()  # DEPLOY_TO_EMULATOR=1 and loopback endpoints only
    except TargetError as exc:
        print(f"emulated_account: {exc}", file=sys.stderr)
        return 2
    if argv[:2] != ["cloudformation", "deploy"]:
        print(f"emulated_account: only `aws cloudformation deploy` is replaced, not {argv[:2]}", file=sys.stderr)
        return 2
    try:
        Deploy(parse_deploy_args(argv[2:])).run()
    except ShimError as exc:
        print(f"emulated_account: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
