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

DynamoDB calls are traced by OpenTelemetry's botocore instrumentation: operation (`rpc.method`), table
(`aws.dynamodb.table_names`), request id, duration, and a failure as the span's error status with the
exception. Nothing here imports the OpenTelemetry SDK until `build()`, so a function that serves no
HTTP request (the users authorizer) never pays for it.
"""
import os
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
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        # Resource(...) as given: Resource.create() would run the resource detectors found by entry points.
        self._provider = TracerProvider(resource=Resource({"service.name": self.service, "cloud.provider": "aws"}))
        self._provider.add_span_processor(SimpleSpanProcessor(self._exporter()))
        BotocoreInstrumentor().instrument(tracer_provider=self._provider, skip_dep_check=True)
        self._tracer = self._provider.get_tracer(SCOPE)
        return self

    def _exporter(self) -> Any:
        if self.mode == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter
            return ConsoleSpanExporter()
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

    def shutdown(self) -> None:
        if self._provider is not None:
            from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
            BotocoreInstrumentor().uninstrument()
            self._provider.shutdown()
            self._provider = self._tracer = None


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
