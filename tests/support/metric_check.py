"""Every metric the alarms and dashboards of a packaged template reference, and what is wrong with each.

References are read from
- plain alarms (`Namespace`, `MetricName`, `Dimensions`) and metric-math alarms (`Metrics[].MetricStat.Metric`;
  their `Expression` entries must use ids defined beside them);
- dashboard metric rows, with CloudWatch's shorthand expanded: "." repeats the previous row's value at that
  position, "..." repeats the previous row's values up to the ones written after it. Expression rows
  (`{"expression": ...}`) are not metrics, but the ids they use must exist in the widget.

CloudFormation references are kept as tokens: `{"Ref": "X"}`, `${X}` in an `Fn::Sub` and `Fn::GetAtt [X, A]`
all become `{{X}}` / `{{X.A}}`, so a dashboard's `${UsersTable}` and an alarm's `Ref: UsersTable` compare equal.
AWS namespaces are held against tests/support/metric_catalog.py, with the dimension values that can be known
from the template (ApiName, FunctionName, TableName, Operation); custom namespaces are returned for the check
against what the functions really emit (tests/support/emf_runner.py).
"""
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Mapping, Optional, Set, Tuple

from tests.support.metric_catalog import CATALOG, describe, is_aws_namespace, sources

SUB_REFERENCE = re.compile(r"\$\{(?!!)([^}]+)\}")
TOKEN = re.compile(r"\{\{([^}]+)\}\}")
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
API_TYPES = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
                     "AWS::URLSuffix": "amazonaws.com"}


# ---------------------------------------------------------------- CloudFormation values as text

def token(name: str) -> str:
    return "{{" + name + "}}"


def tokenize(text: str) -> str:
    """An `Fn::Sub` string with each `${X}` as the token `{{X}}` (`${!X}` is the literal `${X}`)."""
    return SUB_REFERENCE.sub(lambda match: token(match.group(1)), text).replace("${!", "${")


def canonical(value: Any) -> str:
    """A dimension value, namespace or body as text with tokens for the references in it."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return token(argument)
        if function == "Fn::GetAtt":
            return token(".".join(argument) if isinstance(argument, list) else argument)
        if function == "Fn::Sub" and isinstance(argument, str):
            return tokenize(argument)
    return json.dumps(value, sort_keys=True)  # nothing this check can read; it will not match anything


def target(value: Optional[str]) -> Optional[str]:
    """The logical id a value is nothing but a reference to (`{{UsersTable}}` -> UsersTable)."""
    match = TOKEN.fullmatch(value or "")
    return match.group(1) if match else None


def resolver(template: Mapping[str, Any], stack: str, stand_ins: Mapping[str, str]) -> Callable[[str], str]:
    """Replace tokens as CloudFormation would in stack `stack`: pseudo parameters, parameter defaults,
    `stand_ins`, and `<stack>-<LogicalId>` for any other resource's physical name."""
    defaults = {name: str(p["Default"]) for name, p in template.get("Parameters", {}).items() if "Default" in p}
    known = {**PSEUDO_PARAMETERS, "AWS::StackName": stack, **defaults, **stand_ins}
    return lambda text: TOKEN.sub(lambda match: known.get(match.group(1), f"{stack}-{match.group(1)}"), text)


# ---------------------------------------------------------------- what the template references

@dataclass(frozen=True)
class MetricRef:
    where: str
    namespace: str
    name: str
    dimensions: Tuple[Tuple[str, str], ...]

    @property
    def dimension_names(self) -> FrozenSet[str]:
        return frozenset(name for name, _ in self.dimensions)

    def value(self, dimension: str) -> Optional[str]:
        return dict(self.dimensions).get(dimension)


@dataclass(frozen=True)
class ExpressionRef:
    where: str
    expression: str
    ids: FrozenSet[str]


@dataclass
class Found:
    metrics: List[MetricRef] = field(default_factory=list)
    expressions: List[ExpressionRef] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)


def of_types(template: Mapping[str, Any], *types: str) -> Dict[str, Any]:
    return {name: r for name, r in template.get("Resources", {}).items() if r.get("Type") in types}


def metric_ref(where: str, metric: Mapping[str, Any]) -> MetricRef:
    dimensions = tuple(sorted((d["Name"], canonical(d["Value"])) for d in metric.get("Dimensions", [])))
    return MetricRef(where, canonical(metric["Namespace"]), metric["MetricName"], dimensions)


def alarm_references(name: str, props: Mapping[str, Any], found: Found) -> None:
    where = f"alarm {name}"
    if "MetricName" in props:
        found.metrics.append(metric_ref(where, props))
        return
    queries = props.get("Metrics", [])
    ids = frozenset(query["Id"] for query in queries)
    for query in queries:
        if "MetricStat" in query:
            found.metrics.append(metric_ref(f"{where} (metric {query['Id']})", query["MetricStat"]["Metric"]))
        elif "Expression" in query:
            found.expressions.append(ExpressionRef(f"{where} (expression {query['Id']})", query["Expression"], ids))
    if not queries:
        found.problems.append(f"{where}: neither MetricName nor Metrics")


def options(row: List[Any]) -> Dict[str, Any]:
    return row[-1] if row and isinstance(row[-1], dict) else {}


def expand(parts: List[Any], previous: List[Any]) -> List[Any]:
    """CloudWatch's row shorthand: "..." takes the previous row's values up to the ones written after it,
    then each "." takes the previous row's value at its position."""
    if "..." in parts:
        at = parts.index("...")
        head, tail = parts[:at], parts[at + 1:]
        parts = head + previous[len(head):max(len(head), len(previous) - len(tail))] + tail
    return [previous[i] if part == "." and i < len(previous) else part for i, part in enumerate(parts)]


def row_metric(where: str, parts: List[Any]) -> MetricRef:
    if "." in parts:
        raise ValueError(f"{where}: {parts!r} repeats a value the previous row does not have")
    if len(parts) < 2 or len(parts) % 2 or not all(isinstance(part, str) for part in parts):
        raise ValueError(f"{where}: {parts!r} is not [namespace, metric, (dimension, value)...]")
    dimensions = tuple(sorted(zip(parts[2::2], parts[3::2], strict=True)))
    return MetricRef(where, parts[0], parts[1], dimensions)


def widget_references(where: str, rows: List[List[Any]], found: Found) -> None:
    ids = frozenset(options(row)["id"] for row in rows if "id" in options(row))
    previous: List[Any] = []
    for number, row in enumerate(rows, start=1):
        if "expression" in options(row):
            found.expressions.append(ExpressionRef(f"{where} row {number}", options(row)["expression"], ids))
            continue
        previous = expand([part for part in row if not isinstance(part, dict)], previous)
        try:
            found.metrics.append(row_metric(f"{where} row {number}", previous))
        except ValueError as exc:
            found.problems.append(str(exc))


def dashboard_body(resource: Mapping[str, Any]) -> Dict[str, Any]:
    """The DashboardBody (a plain string or an `Fn::Sub` string) parsed, its references as tokens."""
    return json.loads(canonical(resource["Properties"]["DashboardBody"]))


def dashboard_references(name: str, resource: Mapping[str, Any], found: Found) -> None:
    try:
        widgets = dashboard_body(resource)["widgets"]
    except (ValueError, KeyError) as exc:
        found.problems.append(f"dashboard {name}: the body is not CloudWatch dashboard JSON ({exc})")
        return
    for widget in widgets:
        props = widget.get("properties", {})
        if widget.get("type") == "metric":
            widget_references(f"dashboard {name} widget {props.get('title', '(untitled)')!r}",
                              props.get("metrics", []), found)


def references(template: Mapping[str, Any]) -> Found:
    found = Found()
    for name, alarm in of_types(template, "AWS::CloudWatch::Alarm").items():
        alarm_references(name, alarm["Properties"], found)
    for name, dashboard in of_types(template, "AWS::CloudWatch::Dashboard").items():
        dashboard_references(name, dashboard, found)
    return found


# ---------------------------------------------------------------- what the template says about its resources

@dataclass(frozen=True)
class Facts:
    api_names: FrozenSet[str]
    functions: FrozenSet[str]
    tables: FrozenSet[str]
    table_operations: Mapping[str, FrozenSet[str]]  # table -> the DynamoDB operations some role may call on it

    @classmethod
    def of(cls, template: Mapping[str, Any]) -> "Facts":
        apis = of_types(template, *API_TYPES).values()
        return cls(api_names=frozenset(canonical(api["Properties"]["Name"]) for api in apis
                                       if "Name" in api.get("Properties", {})),
                   functions=frozenset(of_types(template, *FUNCTION_TYPES)),
                   tables=frozenset(of_types(template, "AWS::DynamoDB::Table")),
                   table_operations=granted_table_operations(template))


def _as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def _statements(template: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for role in of_types(template, "AWS::IAM::Role").values():
        for policy in role.get("Properties", {}).get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]


def _arn_of(resource: Any) -> Optional[str]:
    """The logical id whose ARN `resource` is (`Fn::GetAtt [X, Arn]`), else None."""
    reference = resource.get("Fn::GetAtt") if isinstance(resource, dict) else None
    if isinstance(reference, str):
        reference = reference.split(".")
    return reference[0] if isinstance(reference, list) and reference[1:] == ["Arn"] else None


def granted_table_operations(template: Mapping[str, Any]) -> Dict[str, FrozenSet[str]]:
    granted: Dict[str, Set[str]] = {}
    for statement in _statements(template):
        if statement.get("Effect") != "Allow":
            continue
        actions = {a.split(":", 1)[1] for a in _as_list(statement["Action"]) if a.startswith("dynamodb:")}
        for resource in _as_list(statement.get("Resource")):
            table = _arn_of(resource)
            if table and actions:
                granted.setdefault(table, set()).update(actions)
    return {table: frozenset(actions) for table, actions in granted.items()}


# ---------------------------------------------------------------- checks

def value_problems(ref: MetricRef, facts: Facts) -> List[str]:
    problems = []
    api, function, table = ref.value("ApiName"), ref.value("FunctionName"), ref.value("TableName")
    if api is not None and api not in facts.api_names:
        problems.append(f"ApiName {api!r} is not the name of this template's REST API {sorted(facts.api_names)} "
                        f"(API Gateway publishes under the API's name, not its id)")
    if function is not None and target(function) not in facts.functions:
        problems.append(f"FunctionName {function!r} is not a Ref to a function of this template "
                        f"{sorted(facts.functions)}")
    if table is not None and target(table) not in facts.tables:
        problems.append(f"TableName {table!r} is not a Ref to a table of this template {sorted(facts.tables)}")
    operation = ref.value("Operation")
    if operation is not None and operation not in facts.table_operations.get(target(table) or "", ()):
        problems.append(f"Operation {operation!r}: no role of this template may call dynamodb:{operation} on "
                        f"{target(table)} (it may call {sorted(facts.table_operations.get(target(table) or '', ()))})")
    return problems


def metric_problems(ref: MetricRef, facts: Facts) -> List[str]:
    """What is wrong with one reference to an AWS metric (custom namespaces: nothing here)."""
    if not is_aws_namespace(ref.namespace):
        return []
    catalogued = CATALOG.get(ref.namespace)
    if catalogued is None:
        return [f"{ref.where}: namespace {ref.namespace} is not in tests/support/metric_catalog.py"]
    entry = catalogued.get(ref.name)
    if entry is None:
        return [f"{ref.where}: {ref.namespace} publishes no metric named {ref.name!r} ({sources(ref.namespace)})"]
    if ref.dimension_names not in entry.dimension_sets:
        published = " or ".join(describe(s) for s in entry.dimension_sets)
        return [f"{ref.where}: {ref.namespace} {ref.name} is published with {published}, not with "
                f"{describe(ref.dimension_names)}: this series stays empty ({entry.source})"]
    return [f"{ref.where}: {ref.namespace} {ref.name}: {problem}" for problem in value_problems(ref, facts)]


IDENTIFIER = re.compile(r"\b[a-z][A-Za-z0-9_]*\b")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def expression_problems(expression: ExpressionRef) -> List[str]:
    """Metric-math ids start with a lower-case letter, function names are upper case."""
    missing = set(IDENTIFIER.findall(QUOTED.sub("", expression.expression))) - expression.ids
    if not missing:
        return []
    return [f"{expression.where}: {expression.expression!r} uses {sorted(missing)}, which no metric beside it "
            f"defines (ids: {sorted(expression.ids)})"]


def template_problems(template: Mapping[str, Any]) -> Tuple[Found, List[str]]:
    """Every reference of the template, and every problem with its AWS metrics and expressions."""
    found, facts = references(template), Facts.of(template)
    problems = list(found.problems)
    problems += [p for ref in found.metrics for p in metric_problems(ref, facts)]
    problems += [p for expression in found.expressions for p in expression_problems(expression)]
    return found, problems


# ---------------------------------------------------------------- custom metrics against what was emitted

Series = Tuple[str, str, FrozenSet[Tuple[str, str]]]  # namespace, metric, dimensions with values


def custom_references(found: Found) -> List[MetricRef]:
    return [ref for ref in found.metrics if not is_aws_namespace(ref.namespace)]


def _show(dimensions: FrozenSet[Tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(dimensions)) + "}"


def custom_problems(ref: MetricRef, emitted: Set[Series], resolve: Callable[[str], str]) -> List[str]:
    """A referenced custom metric must be emitted with exactly its namespace and dimension set."""
    wanted = (resolve(ref.namespace), ref.name, frozenset((k, resolve(v)) for k, v in ref.dimensions))
    if wanted in emitted:
        return []
    same_name = sorted(series for series in emitted if series[1] == ref.name)
    if not same_name:
        return [f"{ref.where}: {ref.name} (namespace {wanted[0]}) is never emitted by this template's functions"]
    seen = "; ".join(f"namespace {ns} with {_show(d)}" for ns, _, d in same_name)
    return [f"{ref.where}: {ref.name} is referenced in namespace {wanted[0]} with {_show(wanted[2])}, "
            f"but emitted as {seen}"]
