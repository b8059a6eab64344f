"""What API Gateway (REST), Lambda and DynamoDB publish to CloudWatch: for each metric, the sets of
dimension names it is published under, and the AWS page that says so.

A graph or alarm on any other combination of dimensions stays empty forever (CloudWatch matches the
dimension set exactly; it does not aggregate over a missing dimension). Checked against the pages
named in `source` (see ../../../shared/DESIGN.md §5c).
"""
from dataclasses import dataclass
from typing import Dict, FrozenSet, Tuple

APIGATEWAY_PAGE = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html"
LAMBDA_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html"
LAMBDA_CONCURRENCY_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-concurrency.html"
WAF_PAGE = "https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html"
DYNAMODB_PAGE = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html"


def dims(*names: str) -> FrozenSet[str]:
    return frozenset(names)


@dataclass(frozen=True)
class Published:
    dimension_sets: Tuple[FrozenSet[str], ...]
    source: str


def _each(names: Tuple[str, ...], sets: Tuple[FrozenSet[str], ...], source: str) -> Dict[str, Published]:
    return {name: Published(sets, source) for name in names}


# REST APIs: per API name, per API and stage, per API, stage, method and resource. No version dimension.
API_SETS = (dims("ApiName"), dims("ApiName", "Stage"), dims("ApiName", "Method", "Resource", "Stage"))
# Across all functions (no dimension), per function, per alias or version, per version an alias ran.
LAMBDA_SETS = (dims(), dims("FunctionName"), dims("FunctionName", "Resource"), dims("FunctionName", "ExecutedVersion"))
ACCOUNT_ONLY = (dims(),)
PER_OPERATION = (dims("TableName", "Operation"),)
PER_TABLE_OR_INDEX = (dims("TableName"), dims("TableName", "GlobalSecondaryIndexName"))
PER_TABLE = (dims("TableName"),)
# Web ACL requests per rule (Rule = the rule's metric name, or ALL): regional ACLs add Region; a rule group's
# own rules are published per RuleGroup instead of WebACL.
WAF_SETS = (dims("Region", "Rule", "WebACL"), dims("Rule", "WebACL"), dims("Region", "Rule", "RuleGroup"))

CATALOG: Dict[str, Dict[str, Published]] = {
    "AWS/ApiGateway": _each(("4XXError", "5XXError", "CacheHitCount", "CacheMissCount", "Count",
                             "IntegrationLatency", "Latency"), API_SETS, APIGATEWAY_PAGE),
    "AWS/Lambda": {
        **_each(("Invocations", "Errors", "Throttles", "DeadLetterErrors", "DestinationDeliveryFailures",
                 "Duration", "PostRuntimeExtensionsDuration", "IteratorAge"), LAMBDA_SETS, LAMBDA_PAGE),
        # "Lambda emits this metric for all functions, versions, and aliases" (and across the region).
        **_each(("ConcurrentExecutions",), LAMBDA_SETS, LAMBDA_CONCURRENCY_PAGE),
        **_each(("UnreservedConcurrentExecutions", "ClaimedAccountConcurrency"), ACCOUNT_ONLY,
                LAMBDA_CONCURRENCY_PAGE),
    },
    "AWS/DynamoDB": {
        **_each(("ThrottledRequests", "SystemErrors", "SuccessfulRequestLatency", "ReturnedItemCount"),
                PER_OPERATION, DYNAMODB_PAGE),
        **_each(("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents",
                 "WriteThrottleEvents", "ProvisionedReadCapacityUnits", "ProvisionedWriteCapacityUnits"),
                PER_TABLE_OR_INDEX, DYNAMODB_PAGE),
        **_each(("ConditionalCheckFailedRequests", "TimeToLiveDeletedItemCount"), PER_TABLE, DYNAMODB_PAGE),
        # "the aggregate of HTTP 400 errors ... for the current region and the current AWS account"
        **_each(("UserErrors",), ACCOUNT_ONLY, DYNAMODB_PAGE),
    },
    "AWS/WAFV2": _each(("AllowedRequests", "BlockedRequests", "CountedRequests", "PassedRequests",
                        "CaptchaRequests", "ChallengeRequests"), WAF_SETS, WAF_PAGE),
}


def is_aws_namespace(namespace: str) -> bool:
    return namespace.startswith("AWS/")


def sources(namespace: str) -> str:
    return " ".join(sorted({entry.source for entry in CATALOG.get(namespace, {}).values()}))


def describe(dimension_set: FrozenSet[str]) -> str:
    return "+".join(sorted(dimension_set)) or "no dimension"
