"""Traces for X-Ray after the X-Ray SDK: one server span per request, one client span per DynamoDB call,
sent as OpenTelemetry (OTLP) spans over UDP to the function's X-Ray endpoint (otlp_udp.py), as the AWS
Distro for OpenTelemetry does inside Lambda.

Modes (the `TRACING` setting; .chalice/config.json sets `xray` in the dev and prod stages):
- `off` (the default, and the local stage's): nothing is recorded.
- `xray`: each request's spans go as one datagram to `AWS_XRAY_DAEMON_ADDRESS`, which Lambda sets when
  active tracing is on. The request span's parent is the invocation's `_X_AMZN_TRACE_ID` (Lambda's own
  segment for the function; its Root is the trace id), so X-Ray shows one trace per request: API
  Gateway, Lambda, the route, and each DynamoDB call under it. An invocation that X-Ray did not sample
  (`Sampled=0`) records and sends nothing.
- `console`: the same spans as JSON lines on stdout (for `TRACING=console make dev`).

The spans carry OpenTelemetry's semantic conventions (`http.route`, `rpc.method`,
`aws.dynamodb.table_names`, ...). `instrument(client)` traces every call of the app's one DynamoDB client
through botocore's own events, as OpenTelemetry's botocore instrumentation does.

Why spans are recorded here and not by the OpenTelemetry SDK: with the API, the SDK and the botocore
instrumentation, tracing cost the cold start more than everything else the apps add to boto3 (README,
"Tracing", has the measurements); AWS's own ADOT Lambda layer has a "lite" SDK for the same reason.
What this module keeps of it: trace and span ids, parent, timing, attributes, events and status, and
the OTLP encoding, checked against the official definitions by tests/integration/test_tracing.py.
"""
import contextvars
import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

MODES = ("off", "xray", "console")
SCOPE = "chalicelib.shared.tracing"
SERVER, CLIENT = 2, 3          # OTLP Span.SpanKind
UNSET, ERROR = 0, 2            # OTLP Status.StatusCode


class Span:
    __slots__ = ("trace_id", "span_id", "parent_id", "name", "kind", "start", "end", "attributes", "events",
                 "status_code", "status_message", "children")

    def __init__(self, trace_id: bytes, parent_id: Optional[bytes], name: str, kind: int,
                 attributes: Dict[str, Any]) -> None:
        self.trace_id, self.parent_id, self.name, self.kind = trace_id, parent_id, name, kind
        self.span_id = os.urandom(8)  # fresh in every SnapStart restore, unlike `random`
        self.start, self.end = time.time_ns(), 0
        self.attributes = attributes
        self.events: List[Tuple[int, str, Dict[str, Any]]] = []
        self.status_code, self.status_message = UNSET, ""
        self.children: List["Span"] = []

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def fail(self, kind: str, message: str) -> None:
        """The error status, and the failure as OpenTelemetry's `exception` event."""
        self.events.append((time.time_ns(), "exception", {"exception.type": kind, "exception.message": message}))
        self.status_code, self.status_message = ERROR, message

    def finish(self) -> None:
        self.end = time.time_ns()

    def as_json(self) -> Dict[str, Any]:
        return {"name": self.name, "kind": {SERVER: "SERVER", CLIENT: "CLIENT"}[self.kind],
                "trace_id": self.trace_id.hex(), "span_id": self.span_id.hex(),
                "parent_id": self.parent_id.hex() if self.parent_id else None,
                "start_unix_nano": self.start, "end_unix_nano": self.end, "attributes": self.attributes,
                "events": [{"name": name, "attributes": attrs} for _, name, attrs in self.events],
                "status": {"code": "ERROR" if self.status_code == ERROR else "UNSET", "message": self.status_message}}


_current: "contextvars.ContextVar[Optional[Span]]" = contextvars.ContextVar("request_span", default=None)


def invocation_parent(header: Optional[str]) -> Tuple[Optional[bytes], Optional[bytes], bool]:
    """(trace id, parent span id, sampled) from an X-Ray trace header (`Root=1-5759e988-bd86...;
    Parent=53995c3f42cd8ad8;Sampled=1`); no header: a new trace, sampled (local runs)."""
    if not header:
        return None, None, True
    fields = dict(part.strip().split("=", 1) for part in header.split(";") if "=" in part)
    root = fields.get("Root", "").split("-")
    try:
        trace_id = bytes.fromhex(root[1] + root[2]) if len(root) == 3 and root[0] == "1" else None
        parent = bytes.fromhex(fields["Parent"]) if len(fields.get("Parent", "")) == 16 else None
    except ValueError:
        trace_id = parent = None
    return trace_id, parent, fields.get("Sampled") == "1"


def new_trace_id() -> bytes:
    """X-Ray's form: the epoch second, then 96 random bits."""
    return int(time.time()).to_bytes(4, "big") + os.urandom(12)


class Tracing:
    def __init__(self, service: str, mode: str = "off") -> None:
        if mode not in MODES:
            raise ValueError(f"tracing mode {mode!r}: expected one of {', '.join(MODES)}")
        self.service = service
        self.mode = mode
        self._exporter: Any = None
        self.resource = {"service.name": service, "cloud.provider": "aws",
                         **({"faas.name": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
                            if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else {})}

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def build(self) -> "Tracing":
        """Set up the exporter (in the init phase, not in the first request); idempotent."""
        if self.mode == "xray" and self._exporter is None:
            from .otlp_udp import DEFAULT_ENDPOINT, UdpExporter
            self._exporter = UdpExporter(os.environ.get("AWS_XRAY_DAEMON_ADDRESS") or DEFAULT_ENDPOINT)
        return self

    @contextmanager
    def request(self, method: str, route: str, request_id: Optional[str]) -> Iterator["RequestSpan"]:
        """The span of one API request, current while the route runs (DynamoDB spans become its children)."""
        trace_id, parent, sampled = invocation_parent(os.environ.get("_X_AMZN_TRACE_ID"))
        if not (self.enabled and sampled):
            yield RequestSpan(None)
            return
        attributes: Dict[str, Any] = {"http.request.method": method, "http.route": route}
        if request_id:
            attributes["aws.request_id"] = request_id
        span = Span(trace_id or new_trace_id(), parent, f"{method} {route}", SERVER, attributes)
        token = _current.set(span)
        try:
            yield RequestSpan(span)
        except BaseException as exc:
            span.fail(type(exc).__name__, str(exc))
            raise
        finally:
            _current.reset(token)
            span.finish()
            self._send([*span.children, span])

    def _send(self, spans: List[Span]) -> None:
        if self.mode == "console":
            import json
            for span in spans:
                print(json.dumps(span.as_json(), default=str), file=sys.stdout, flush=True)
        else:
            self.build()
            self._exporter.export(self.resource, SCOPE, spans)

    def instrument(self, client: Any) -> Any:
        """A span per call of `client` (a botocore client), child of the current request's span."""
        if self.enabled:
            service = client.meta.service_model.service_id.hyphenize()
            # before-parameter-build sees the call's own parameters (before-call sees the HTTP request)
            client.meta.events.register(f"before-parameter-build.{service}", _call_started)
            client.meta.events.register(f"after-call.{service}", _call_ended)
            client.meta.events.register(f"after-call-error.{service}", _call_failed)
        return client


_CALL = "chalicelib.shared.tracing.span"  # where a call's span waits in botocore's request context


def _call_started(model: Any, params: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
    request = _current.get()
    if request is None:  # no traced request (tracing off for it, or a call outside any request)
        return
    service = str(model.service_model.service_id)
    attributes: Dict[str, Any] = {"rpc.system": "aws-api", "rpc.service": service, "rpc.method": model.name}
    tables = [params["TableName"]] if "TableName" in params else sorted(params.get("RequestItems", {}))
    if tables:
        attributes["aws.dynamodb.table_names"] = tables
    if context.get("client_region"):
        attributes["cloud.region"] = context["client_region"]
    span = Span(request.trace_id, request.span_id, f"{service}.{model.name}", CLIENT, attributes)
    request.children.append(span)
    context[_CALL] = span


def _call_ended(http_response: Any, parsed: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
    span = context.pop(_CALL, None)
    if span is None:
        return
    request_id = parsed.get("ResponseMetadata", {}).get("RequestId")
    if request_id:
        span.set_attribute("aws.request_id", request_id)
    span.set_attribute("http.status_code", http_response.status_code)
    error = parsed.get("Error")
    if error:
        span.fail(error.get("Code", "Error"), error.get("Message", ""))
    span.finish()


def _call_failed(exception: BaseException, context: Dict[str, Any], **_: Any) -> None:
    span = context.pop(_CALL, None)
    if span is not None:
        span.fail(type(exception).__name__, str(exception))
        span.finish()


class RequestSpan:
    """What the middleware records on the request's span (nothing when tracing is off or not sampled)."""

    def __init__(self, span: Optional[Span]) -> None:
        self._span = span

    def status(self, code: int) -> None:
        if self._span is None:
            return
        self._span.set_attribute("http.response.status_code", code)
        if code >= 500:
            self._span.status_code = ERROR
