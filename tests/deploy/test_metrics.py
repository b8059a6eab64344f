"""Every graph and alarm of the packaged templates has data to show.

- AWS metrics: each (namespace, metric, dimension names) referenced by an alarm or a dashboard widget is one
  API Gateway, Lambda or DynamoDB publishes (tests/support/metric_catalog.py, with the AWS page for each), and
  the dimension values that the template decides are right (tests/support/metric_check.py).
- Custom metrics: each one referenced is emitted, with exactly that namespace and dimension set, by the
  template's functions when they are run as Lambda runs them over every route (tests/support/emf_runner.py).
"""
import copy
import json
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import pytest

from tests.support import tokens
from tests.support.emf_runner import emf_series, emitted_series, lambda_environment
from tests.support.metric_check import (
    FUNCTION_TYPES,
    Facts,
    Series,
    canonical,
    custom_problems,
    custom_references,
    of_types,
    references,
    resolver,
    target,
    template_problems,
    token,
)
from tests.support.packaging import Package

# Physical ids the functions' environment gets for these Refs: tests/support/tokens.py signs for this pool and client.
STAND_INS = {"UserPool": tokens.POOL_ID, "UserPoolClient": tokens.CLIENT_ID}

Packages = Dict[Tuple[str, str], Package]


def stack_name(pkg: Package) -> str:
    return f"serverless-patterns-{pkg.app}-{pkg.stage}"


# ---------------------------------------------------------------- AWS metrics

def test_every_referenced_aws_metric_is_published_with_those_dimensions(
        packages: Packages, capsys: pytest.CaptureFixture[str]) -> None:
    checked: Dict[str, int] = {}
    custom = 0
    problems: List[str] = []
    for pkg in packages.values():
        found, found_problems = template_problems(pkg.template)
        checked[repr(pkg)] = len(found.metrics)
        custom += len(custom_references(found))
        problems += [f"{pkg}: {problem}" for problem in found_problems]
    per_template = ", ".join(f"{name} {count}" for name, count in checked.items())
    with capsys.disabled():
        print(f"\nchecked {sum(checked.values())} metric references in {len(checked)} templates ({per_template}): "
              f"{sum(checked.values()) - custom} AWS ones against the catalog, {len(problems)} invalid; {custom} "
              f"custom ones are held against what the functions emit")
    assert all(checked.values()), checked
    assert not problems, "\n".join(problems)


def test_dynamodb_panels_graph_every_operation_each_table_is_called_with(packages: Packages) -> None:
    """A per-operation sum that leaves out an operation the functions call would hide its throttles."""
    for pkg in packages.values():
        granted = Facts.of(pkg.template).table_operations
        graphed: Dict[Tuple[str, str], Set[str]] = {}
        for ref in references(pkg.template).metrics:
            operation, table = ref.value("Operation"), target(ref.value("TableName"))
            if ref.namespace == "AWS/DynamoDB" and operation and table:
                graphed.setdefault((ref.name, table), set()).add(operation)
        for granted_table, operations in granted.items():
            for metric in ("ThrottledRequests", "SystemErrors"):
                assert graphed.get((metric, granted_table)) == set(operations), (pkg, metric, granted_table)


# ---------------------------------------------------------------- custom metrics

def resolve_for(pkg: Package) -> Callable[[str], str]:
    return resolver(pkg.template, stack_name(pkg), STAND_INS)


def function_env(pkg: Package, name: str, resolve: Callable[[str], str]) -> Dict[str, str]:
    props = pkg.resources[name]["Properties"]
    variables = {key: resolve(canonical(value)) for key, value in props["Environment"]["Variables"].items()}
    return lambda_environment(variables, resolve(token(name)), props["Handler"], props.get("MemorySize", 128))


def emitted_by_functions(pkg: Package, resolve: Callable[[str], str]) -> Set[Series]:
    emitted: Set[Series] = set()
    for name, function in of_types(pkg.template, *FUNCTION_TYPES).items():
        env = function_env(pkg, name, resolve)
        emitted |= emitted_series(pkg.project.dir, function["Properties"]["Handler"], env)
    return emitted


@pytest.fixture(scope="session")
def emitted(packages: Packages) -> Dict[Tuple[str, str], Set[Series]]:
    """What each package's functions emit when run over every route (one fresh process per function)."""
    return {key: emitted_by_functions(pkg, resolve_for(pkg)) for key, pkg in packages.items()}


def test_every_referenced_custom_metric_is_emitted_with_that_namespace_and_dimensions(
        packages: Packages, emitted: Dict[Tuple[str, str], Set[Series]]) -> None:
    problems: List[str] = []
    checked = 0
    for key, pkg in packages.items():
        for ref in custom_references(references(pkg.template)):
            checked += 1
            problems += [f"{pkg}: {problem}" for problem in custom_problems(ref, emitted[key], resolve_for(pkg))]
    assert checked, "no template references a custom metric: the orders dashboard and alarm should"
    assert not problems, "\n".join(problems)


def test_the_functions_emit_the_orders_metrics_with_service_and_cold_start_dimensions(
        emitted: Dict[Tuple[str, str], Set[Series]]) -> None:
    orders = emitted[("orders", "prod")]
    namespace = "ServerlessWorkshop/serverless-patterns-orders-prod"
    service = frozenset({("service", "orders")})
    for metric in ("SuccessfulOrder", "OrderTotal", "OrderEdited", "OrderCanceled", "OrderAcknowledged"):
        assert (namespace, metric, service) in orders, metric
    cold = service | {("function_name", "serverless-patterns-orders-prod-APIHandler")}
    assert (namespace, "ColdStart", frozenset(cold)) in orders


# ---------------------------------------------------------------- the checks themselves catch what they should

def minimal_template(rows: List[Any], alarms: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A template with one table (GetItem and Scan granted), one function, one API, and a dashboard."""
    body = json.dumps({"widgets": [{"type": "metric", "properties": {"title": "T", "metrics": rows}}]})
    return {"Resources": {
        "UsersTable": {"Type": "AWS::DynamoDB::Table"},
        "APIHandler": {"Type": "AWS::Serverless::Function"},
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"Name": {"Ref": "AWS::StackName"}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"],
             "Resource": {"Fn::GetAtt": ["UsersTable", "Arn"]}}]}}]}},
        "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": {"Fn::Sub": body}}},
        **{name: {"Type": "AWS::CloudWatch::Alarm", "Properties": props} for name, props in (alarms or {}).items()},
    }}


def problems_of(rows: List[Any], alarms: Optional[Dict[str, Any]] = None) -> List[str]:
    return template_problems(minimal_template(rows, alarms))[1]


YESTERDAYS_DYNAMODB_ROWS = [["AWS/DynamoDB", "ThrottledRequests", "TableName", "${UsersTable}"],
                            [".", "SystemErrors", "TableName", "${UsersTable}"],
                            [".", "UserErrors", "TableName", "${UsersTable}"]]


def test_check_fails_on_the_dynamodb_series_the_dashboards_had() -> None:
    problems = problems_of(YESTERDAYS_DYNAMODB_ROWS)
    assert len(problems) == 3, problems
    assert "row 1: AWS/DynamoDB ThrottledRequests is published with Operation+TableName, not with TableName" \
        in problems[0]
    assert "row 2: AWS/DynamoDB SystemErrors is published with Operation+TableName" in problems[1]
    assert "row 3: AWS/DynamoDB UserErrors is published with no dimension, not with TableName" in problems[2]
    assert all("widget 'T'" in p and "metrics-dimensions.html" in p for p in problems)


def test_check_accepts_per_operation_rows_summed_by_an_expression() -> None:
    rows = [["AWS/DynamoDB", "ThrottledRequests", "TableName", "${UsersTable}", "Operation", "GetItem",
             {"id": "get", "visible": False}],
            ["...", "Scan", {"id": "scan", "visible": False}],
            [{"expression": "SUM([get, scan])", "label": "throttled", "id": "total"}],
            ["AWS/DynamoDB", "UserErrors", {"label": "account-wide"}]]
    found, problems = template_problems(minimal_template(rows))
    assert problems == []
    assert [(m.name, dict(m.dimensions).get("Operation")) for m in found.metrics] == [
        ("ThrottledRequests", "GetItem"), ("ThrottledRequests", "Scan"), ("UserErrors", None)]
    assert found.metrics[1].value("TableName") == "{{UsersTable}}"  # "..." kept the table, replaced the operation


def test_shorthand_dot_and_ellipsis_expand_like_cloudwatch() -> None:
    rows = [["AWS/ApiGateway", "Latency", "ApiName", "${AWS::StackName}", {"stat": "p50"}],
            ["...", {"stat": "p99"}],
            [".", "IntegrationLatency", ".", "."]]
    found = references(minimal_template(rows))
    assert [(m.namespace, m.name, m.dimensions) for m in found.metrics] == [
        ("AWS/ApiGateway", "Latency", (("ApiName", "{{AWS::StackName}}"),))] * 2 + [
        ("AWS/ApiGateway", "IntegrationLatency", (("ApiName", "{{AWS::StackName}}"),))]


@pytest.mark.parametrize("row, complaint", [
    (["AWS/Lambda", "Invocation", "FunctionName", "${APIHandler}"], "publishes no metric named 'Invocation'"),
    (["AWS/Lambda", "Errors", "FunctionName", "${UsersTable}"],
     "FunctionName '{{UsersTable}}' is not a Ref to a function"),
    (["AWS/Lambda", "Errors", "FunctionName", "${APIHandler}", "Version", "1"], "not with FunctionName+Version"),
    (["AWS/ApiGateway", "5XXError", "ApiName", "${RestAPI}"],
     "ApiName '{{RestAPI}}' is not the name of this template's REST API"),
    (["AWS/ApiGateway", "Count", "ApiId", "${RestAPI}"], "not with ApiId"),
    (["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", "orders"],
     "TableName 'orders' is not a Ref to a table"),
    (["AWS/DynamoDB", "SystemErrors", "TableName", "${UsersTable}", "Operation", "PutItem"],
     "no role of this template may call dynamodb:PutItem on UsersTable"),
    (["AWS/SQS", "NumberOfMessagesSent", "QueueName", "q"], "namespace AWS/SQS is not in"),
    (["AWS/Lambda", "Errors", "FunctionName"], "is not [namespace, metric, (dimension, value)...]"),
    ([".", "Errors", "FunctionName", "${APIHandler}"], "repeats a value the previous row does not have"),
])
def test_check_names_what_is_wrong(row: List[Any], complaint: str) -> None:
    problems = problems_of([row])
    assert len(problems) == 1 and complaint in problems[0], problems
    assert problems[0].startswith("dashboard Dashboard widget 'T' row 1: ")


def test_check_reads_plain_and_metric_math_alarms_and_their_expression_ids() -> None:
    alarms = {
        "Plain": {"Namespace": "AWS/Lambda", "MetricName": "Throttles",
                  "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "UsersTable"}}]},
        "Math": {"Metrics": [
            {"Id": "reads", "MetricStat": {"Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "ThrottledRequests",
                                                      "Dimensions": [{"Name": "TableName",
                                                                      "Value": {"Ref": "UsersTable"}}]}}},
            {"Id": "rate", "Expression": "100 * FILL(reads, 0) / writes"}]},
    }
    problems = problems_of([], alarms)
    assert any(p.startswith("alarm Plain: AWS/Lambda Throttles: FunctionName '{{UsersTable}}'") for p in problems)
    assert any(p.startswith("alarm Math (metric reads): AWS/DynamoDB ThrottledRequests is published with "
                            "Operation+TableName") for p in problems)
    assert any(p.startswith("alarm Math (expression rate): ") and "uses ['writes']" in p for p in problems)
    assert len(problems) == 3, problems


def test_dashboard_expression_ids_must_exist() -> None:
    rows = [["AWS/Lambda", "Errors", "FunctionName", "${APIHandler}", {"id": "errors"}],
            [{"expression": "SUM([errors, throttles])", "id": "both"}]]
    (problem,) = problems_of(rows)
    assert "row 2: 'SUM([errors, throttles])' uses ['throttles']" in problem


def test_custom_check_requires_the_exact_namespace_and_dimension_set() -> None:
    alarm = {"Namespace": {"Fn::Sub": "ServerlessWorkshop/${AWS::StackName}"}, "MetricName": "SuccessfulOrder",
             "Dimensions": [{"Name": "service", "Value": "orders"}]}
    template = minimal_template([], {"Placed": alarm})
    (ref,) = custom_references(references(template))
    resolve = resolver(template, "stack-dev", {})
    right = ("ServerlessWorkshop/stack-dev", "SuccessfulOrder", frozenset({("service", "orders")}))
    assert custom_problems(ref, {right}, resolve) == []
    (never,) = custom_problems(ref, set(), resolve)
    assert "SuccessfulOrder (namespace ServerlessWorkshop/stack-dev) is never emitted" in never
    other_namespace = ("ServerlessWorkshop", "SuccessfulOrder", frozenset({("service", "orders")}))
    (moved,) = custom_problems(ref, {other_namespace}, resolve)
    assert "but emitted as namespace ServerlessWorkshop with {service=orders}" in moved
    more_dimensions = (right[0], right[1], right[2] | {("function_name", "f")})
    (extra,) = custom_problems(ref, {more_dimensions}, resolve)
    assert "emitted as namespace ServerlessWorkshop/stack-dev with {function_name=f, service=orders}" in extra


def test_emf_lines_are_read_per_dimension_set() -> None:
    record = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["service"]],
                                                              "Metrics": [{"Name": "A", "Unit": "Count"}]}]},
              "service": "orders", "A": [1.0]}
    stdout = "\n".join(['{"level": "INFO", "message": "request"}', json.dumps(record), "not json"])
    assert emf_series(stdout) == {("N", "A", frozenset({("service", "orders")}))}


def test_the_custom_check_fails_when_a_function_emits_elsewhere(packages: Packages) -> None:
    """Run for real against a copy of the orders template whose function writes to another namespace."""
    pkg = copy.copy(packages[("orders", "dev")])
    pkg.template = copy.deepcopy(pkg.template)
    pkg.resources["APIHandler"]["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] = "Elsewhere"
    resolve = resolve_for(pkg)
    emitted = emitted_by_functions(pkg, resolve)
    refs = custom_references(references(pkg.template))
    problems = [p for ref in refs for p in custom_problems(ref, emitted, resolve)]
    assert problems and all("but emitted as namespace Elsewhere with {service=orders}" in p for p in problems)

