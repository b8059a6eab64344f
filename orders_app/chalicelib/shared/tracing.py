# GENERATED from chalicelib_shared/tracing.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Traces with OpenTelemetry: one server span per request, one client span per DynamoDB call.

Modes (the `TRACING` setting; .chalice/config.json sets `xray` in the dev and prod stages):
- `off` (the default, and the local stage's): nothing is imported or recorded.
- `xray`: spans go as OTLP over UDP to the function's X-Ray endpoint (`AWS_XRAY_DAEMON_ADDRESS`, which
  Lambda sets when active tracing is on), the way the AWS Distro for OpenTelemetry exports inside Lambda
  (otlp_udp.py). The request span's parent is the invocation's `_X_AMZN_TRACE_ID` (Lambda's own
  segment for the function), read by OpenTelemetry's `AwsXRayLambdaPropagator`, so X-Ray shows one
  trace per request: API Gateway, Lambda, the route, and each DynamoDB call under it. An invocation
  that X-Ray did not sample (`Sampled=0`) records and sends nothing.
- `console`: the same spans as JSON on stdout (for `TRACING=console make dev`).

`instrument(client)` traces every call of the app's one DynamoDB client through botocore's own events,
with the attributes OpenTelemetry's botocore instrumentation sets: operation (`rpc.method`), table
(`aws.dynamodb.table_names`), request id, HTTP status, duration, and a failure as the span's error
status with an `exception` event. That instrumentation package is not used: importing it (its
instrumentor checks installed distributions with `packaging` and `importlib.metadata`) costs about
35 ms of every cold start (README, "Tracing"). Nothing here imports the OpenTelemetry SDK until
`build()`, so a function that serves no HTTP request (the users authorizer) never pays for it.
"""
import os
import sys
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

MODES = ("off", "xray", "console")
SCOPE = "chalicelib.shared.tracing"


class Tracing:
    def __init__(self, service: str, mode: str = "off") -> None:
        if mode not in MODES:
            raise ValueError(f"tracing mode {mode!r}: expected one of {', '.join(MODES)}")
        self.service = service
        self.mode = mode
        self._tracer: Any = None
        self._provider: Any = None

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def build(self) -> "Tracing":
        """Import and set up OpenTelemetry (in the init phase, not in the first request); idempotent."""
        if not self.enabled or self._tracer is not None:
            return self
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        # Resource(...) as given: Resource.create() would run the resource detectors found by entry points.
        self._provider = TracerProvider(resource=Resource({"service.name": self.service, "cloud.provider": "aws"}))
        self._provider.add_span_processor(SimpleSpanProcessor(self._exporter()))
        self._tracer = self._provider.get_tracer(SCOPE)
        return self

    def _exporter(self) -> Any:
        if self.mode == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter
            return ConsoleSpanExporter(out=sys.stdout)  # its default is the stdout of its import
        from .otlp_udp import DEFAULT_ENDPOINT, OtlpUdpSpanExporter
        return OtlpUdpSpanExporter(os.environ.get("AWS_XRAY_DAEMON_ADDRESS") or DEFAULT_ENDPOINT)

    @contextmanager
    def request(self, method: str, route: str, request_id: Optional[str]) -> Iterator["RequestSpan"]:
        """The span of one API request, current while the route runs (DynamoDB spans become its children)."""
        if not self.enabled:
            yield RequestSpan(None)
            return
        self.build()
        from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
        from opentelemetry.trace import SpanKind

        parent = AwsXRayLambdaPropagator().extract({})  # the invocation's _X_AMZN_TRACE_ID, if any
        attributes: Dict[str, Any] = {"http.request.method": method, "http.route": route}
        if request_id:
            attributes["aws.request_id"] = request_id
        with self._tracer.start_as_current_span(f"{method} {route}", context=parent, kind=SpanKind.SERVER,
                                                attributes=attributes) as span:
            yield RequestSpan(span)

    def instrument(self, client: Any) -> Any:
        """A span per call of `client` (a botocore client), child of the current request's span."""
        if self.enabled:
            service = client.meta.service_model.service_id.hyphenize()
            # before-parameter-build sees the call's own parameters (before-call sees the HTTP request)
            client.meta.events.register(f"before-parameter-build.{service}", self._call_started)
            client.meta.events.register(f"after-call.{service}", self._call_ended)
            client.meta.events.register(f"after-call-error.{service}", self._call_failed)
        return client

    def _call_started(self, model: Any, params: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
        from opentelemetry.trace import SpanKind

        self.build()
        service = model.service_model.service_id
        tables = [params["TableName"]] if "TableName" in params else sorted(params.get("RequestItems", {}))
        attributes: Dict[str, Any] = {"rpc.system": "aws-api", "rpc.service": str(service),
                                      "rpc.method": model.name, "cloud.region": _region(context)}
        if tables:
            attributes["aws.dynamodb.table_names"] = tables
        context[_SPAN] = self._tracer.start_span(f"{service}.{model.name}", kind=SpanKind.CLIENT,
                                                 attributes=attributes)

    def _call_ended(self, http_response: Any, parsed: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
        span = context.pop(_SPAN, None)
        if span is None:
            return
        metadata = parsed.get("ResponseMetadata", {})
        if metadata.get("RequestId"):
            span.set_attribute("aws.request_id", metadata["RequestId"])
        span.set_attribute("http.status_code", http_response.status_code)
        error = parsed.get("Error")
        if error:
            _failed(span, error.get("Code", "Error"), error.get("Message", ""))
        span.end()

    def _call_failed(self, exception: BaseException, context: Dict[str, Any], **_: Any) -> None:
        span = context.pop(_SPAN, None)
        if span is not None:
            _failed(span, type(exception).__name__, str(exception))
            span.end()

    def shutdown(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = self._tracer = None


_SPAN = "chalicelib.shared.tracing.span"  # where a call's span waits in botocore's request context


def _region(context: Dict[str, Any]) -> str:
    return str((context.get("client_region") or os.environ.get("AWS_REGION") or ""))


def _failed(span: Any, kind: str, message: str) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.add_event("exception", {"exception.type": kind, "exception.message": message})
    span.set_status(Status(StatusCode.ERROR, message))


class RequestSpan:
    """What the middleware records on the request's span (nothing when tracing is off)."""

    def __init__(self, span: Any) -> None:
        self._span = span

    def status(self, code: int) -> None:
        if self._span is None:
            return
        self._span.set_attribute("http.response.status_code", code)
        if code >= 500:
            from opentelemetry.trace import Status, StatusCode
            self._span.set_status(Status(StatusCode.ERROR))
