"""What the packaging step adds for gradual rollouts, on top of `chalice package`'s template.

The merge templates give every function `AutoPublishAlias: live` and a `DeploymentPreference` (SAM then
publishes a version per deploy, points the alias at it and lets CodeDeploy shift traffic). Chalice
still writes `${APIHandler.Arn}` / `${UsersAuthorizer.Arn}` into every route and authorizer of the API
definition and names the bare function in each Lambda permission, so API Gateway would keep invoking
`$LATEST`. `route_through_aliases` rewrites those to the alias. The list form of `Fn::Sub` with
`{"Ref": "<Function>.Alias"}` as a variable is used because the inline `${APIHandler.Alias}` transforms
but cfn-lint reports E1019 on it.

`add_snapstart` turns on SnapStart (published versions only, which the aliases provide); the packaging
step calls it for prod. It needs python3.12 or newer (LAMBDA_RUNTIME in deploy/project.py) and says so.
"""
import re
from typing import Any, Dict, Iterator, List, Tuple

ALIAS = "live"
FUNCTION = "AWS::Serverless::Function"
_ARN_IN_SUB = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}")
SNAPSTART_MIN = (3, 12)


class RolloutError(Exception):
    pass


def aliased_functions(template: Dict[str, Any]) -> List[str]:
    """The functions that publish an alias (the merge template gave them AutoPublishAlias)."""
    return [name for name, res in template.get("Resources", {}).items()
            if res.get("Type") == FUNCTION and res.get("Properties", {}).get("AutoPublishAlias")]


def _subs(node: Any) -> Iterator[Dict[str, Any]]:
    """Every dict under `node` that is an `Fn::Sub` in string form."""
    if isinstance(node, dict):
        if isinstance(node.get("Fn::Sub"), str) and len(node) == 1:
            yield node
        for value in node.values():
            yield from _subs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _subs(value)


def _aliased_sub(text: str, functions: List[str]) -> Tuple[str, Dict[str, Any]]:
    """`...${Fn.Arn}...` -> `...${FnAlias}...` with FnAlias bound to {"Ref": "Fn.Alias"}."""
    variables: Dict[str, Any] = {}

    def swap(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in functions:
            return match.group(0)
        variables[f"{name}Alias"] = {"Ref": f"{name}.Alias"}
        return "${" + name + "Alias}"

    return _ARN_IN_SUB.sub(swap, text), variables


def route_through_aliases(template: Dict[str, Any]) -> int:
    """Point the API definition and the Lambda permissions at the aliases; returns how many
    references were rewritten. Fails if a function with an alias is still invoked directly."""
    functions = aliased_functions(template)
    rewritten = 0
    for res in template.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Api":
            body = res.get("Properties", {}).get("DefinitionBody", {})
            for sub in _subs(body):
                text, variables = _aliased_sub(sub["Fn::Sub"], functions)
                if variables:
                    sub["Fn::Sub"] = [text, variables]
                    rewritten += 1
            left = [name for name in functions if f"${{{name}.Arn}}" in str(body)]
            if left:
                raise RolloutError(f"the API definition still invokes {', '.join(left)} without its alias")
        elif res.get("Type") == "AWS::Lambda::Permission":
            props = res["Properties"]
            target = _function_named(props.get("FunctionName"))
            if target in functions:
                props["FunctionName"] = {"Ref": f"{target}.Alias"}
                rewritten += 1
    return rewritten


def _function_named(value: Any) -> Any:
    """The logical id a permission's FunctionName refers to (Ref X or GetAtt X.Arn), else None."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


TRAFFIC_SHIFTING = ("AllAtOnce", "Canary10Percent5Minutes", "Canary10Percent10Minutes", "Canary10Percent15Minutes",
                    "Canary10Percent30Minutes", "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes",
                    "Linear10PercentEvery3Minutes", "Linear10PercentEvery10Minutes")


def set_traffic_shifting(template: Dict[str, Any], kind: str) -> None:
    """Every function's DeploymentPreference.Type (`make deploy TRAFFIC_SHIFTING=AllAtOnce` forces an
    immediate switch; the rollback alarms still apply)."""
    if kind not in TRAFFIC_SHIFTING:
        raise RolloutError(f"traffic shifting {kind!r}: expected one of {', '.join(TRAFFIC_SHIFTING)}")
    for name in aliased_functions(template):
        template["Resources"][name]["Properties"]["DeploymentPreference"]["Type"] = kind


def runtime_version(template: Dict[str, Any]) -> Tuple[int, int]:
    runtimes = {res["Properties"]["Runtime"] for res in template.get("Resources", {}).values()
                if res.get("Type") == FUNCTION}
    if len(runtimes) != 1:
        raise RolloutError(f"expected one Lambda runtime, found {sorted(runtimes)}")
    major, minor = runtimes.pop().removeprefix("python").split(".")
    return int(major), int(minor)


def add_snapstart(template: Dict[str, Any]) -> None:
    """SnapStart on every function with an alias; the runtime must support it."""
    major, minor = runtime_version(template)
    if (major, minor) < SNAPSTART_MIN:
        raise RolloutError(f"SnapStart needs python{SNAPSTART_MIN[0]}.{SNAPSTART_MIN[1]}+ but the functions run "
                           f"python{major}.{minor}: set LAMBDA_RUNTIME in deploy/project.py to a newer runtime")
    for name in aliased_functions(template):
        template["Resources"][name]["Properties"]["SnapStart"] = {"ApplyOn": "PublishedVersions"}
