"""Tracing as X-Ray receives it, offline: each app is imported as its Lambda function is (a fresh process,
`TRACING=xray` as the dev and prod stages set it, the invocation's `_X_AMZN_TRACE_ID`), serves one API
Gateway request against the local stack's DynamoDB Local, and the function's X-Ray endpoint
(`AWS_XRAY_DAEMON_ADDRESS`) is a UDP listener on loopback. What arrives is decoded as ADOT's Lambda
exporter sends it (a JSON header line, `T1S`, base64 of an OTLP ExportTraceServiceRequest)."""
import base64
import json
import os
import socket
import subprocess
import sys
from typing import Any, Dict, List

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from deploy.project import ROOT
from tests.support.apps import TEST_ENV, app_dir

pytestmark = pytest.mark.integration

ROOT_ID = "1-6751f0a0-5759e988bd862e3fe1be46a9"
PARENT_ID = "53995c3f42cd8ad8"
HEADER = b'{"format":"json","version":1}\nT1S'

# Runs in the app's directory: import the app as Lambda does, serve one request, print the response.
AS_LAMBDA = r"""
import json, sys
sys.path.append(sys.argv[1])
from deploy.perf.bench import fixtures
import app
kind, sub = sys.argv[2], sys.argv[3]
if kind == "users":
    event = fixtures.api_event("GET", "/users/{userid}", {"userid": sub}, fixtures.users_authorizer_context(sub, False))
else:
    event = fixtures.api_event("GET", "/orders/{orderId}", {"orderId": fixtures.SEED_ORDER},
                               fixtures.cognito_authorizer_context(sub, False))
response = app.app(event, fixtures.FakeLambdaContext(kind + "-fn", request_id="req-" + kind))
print(json.dumps({"status": response["statusCode"]}))
"""

CASES = {"users": ("users_app", "USERS_TABLE", "UsersTable"), "orders": ("orders_app", "ORDERS_TABLE", "OrdersTable")}


@pytest.fixture
def xray_endpoint() -> Any:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    yield sock
    sock.close()


def serve_one(stack: Any, app: str, table: str, endpoint: socket.socket, sampled: str = "1") -> int:
    directory, table_var, _ = CASES[app]
    env = {"PATH": os.environ["PATH"], **TEST_ENV[directory], table_var: table, "TRACING": "xray",
           "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{endpoint.getsockname()[1]}",
           "_X_AMZN_TRACE_ID": f"Root={ROOT_ID};Parent={PARENT_ID};Sampled={sampled}",
           "AWS_LAMBDA_FUNCTION_NAME": f"{app}-fn", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ENDPOINT_URL_DYNAMODB": stack.outputs["DynamoDBEndpointUrl"], "DDB_MAX_ATTEMPTS": "1"}
    proc = subprocess.run([sys.executable, "-c", AS_LAMBDA, str(ROOT), app, "5b1c0d7e-0000-4000-8000-00000000be01"],
                          cwd=app_dir(directory), env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return int(json.loads(proc.stdout.splitlines()[-1])["status"])


def received(endpoint: socket.socket) -> List[Span]:
    spans: List[Span] = []
    while True:
        try:
            data = endpoint.recv(65535)
        except socket.timeout:
            return spans
        assert data.startswith(HEADER), data[:60]
        request = ExportTraceServiceRequest.FromString(base64.b64decode(data[len(HEADER):]))
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                spans.extend(scope_spans.spans)


def attributes(span: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        value = getattr(kv.value, kind)
        out[kv.key] = [v.string_value for v in value.values] if kind == "array_value" else value
    return out


def one(spans: List[Span], kind: int) -> Span:
    matching = [s for s in spans if s.kind == kind]
    assert len(matching) == 1, [(s.name, s.kind) for s in spans]
    return matching[0]


def check_trace(spans: List[Span], route: str, status: int, table: str) -> Span:
    """One trace under the invocation's segment: the request's server span, the GetItem span under it."""
    assert {s.trace_id.hex() for s in spans} == {ROOT_ID[2:].replace("-", "")}
    server = one(spans, Span.SPAN_KIND_SERVER)
    assert server.name == f"GET {route}" and server.parent_span_id.hex() == PARENT_ID
    assert attributes(server)["http.route"] == route
    assert attributes(server)["http.response.status_code"] == status
    call = one(spans, Span.SPAN_KIND_CLIENT)
    assert call.parent_span_id == server.span_id
    seen = attributes(call)
    assert (seen["rpc.service"], seen["rpc.method"], seen["aws.dynamodb.table_names"]) == ("DynamoDB", "GetItem",
                                                                                         [table])
    assert server.start_time_unix_nano <= call.start_time_unix_nano < call.end_time_unix_nano \
        <= server.end_time_unix_nano
    return call


@pytest.mark.parametrize("app", sorted(CASES))
def test_a_request_and_its_dynamodb_read_arrive_as_one_trace(stack: Any, app: str,
                                                            xray_endpoint: socket.socket) -> None:
    table = stack.table(CASES[app][2])
    status = serve_one(stack, app, table, xray_endpoint)
    assert status == 404  # nothing stored under that id: the read succeeded and found nothing
    route = "/users/{userid}" if app == "users" else "/orders/{orderId}"
    call = check_trace(received(xray_endpoint), route, status, table)
    assert call.status.code != Status.STATUS_CODE_ERROR
    assert "aws.request_id" in attributes(call)


@pytest.mark.parametrize("app", sorted(CASES))
def test_a_failed_dynamodb_call_is_an_error_span(stack: Any, app: str, xray_endpoint: socket.socket) -> None:
    status = serve_one(stack, app, "no-such-table", xray_endpoint)
    assert status == 500  # a table the function cannot find is a broken deployment, not a retry
    route = "/users/{userid}" if app == "users" else "/orders/{orderId}"
    spans = received(xray_endpoint)
    call = check_trace(spans, route, status, "no-such-table")
    assert call.status.code == Status.STATUS_CODE_ERROR
    assert [e.name for e in call.events] == ["exception"]
    exception = attributes(call.events[0])
    assert "ResourceNotFoundException" in exception["exception.type"]


def test_an_invocation_x_ray_did_not_sample_sends_nothing(stack: Any, xray_endpoint: socket.socket) -> None:
    assert serve_one(stack, "users", stack.table("UsersTable"), xray_endpoint, sampled="0") == 404
    assert received(xray_endpoint) == []
