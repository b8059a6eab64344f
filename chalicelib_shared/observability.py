"""Logs, metrics and traces for a Chalice app: built once, wired around every request by one middleware.

- Logger (Powertools, JSON): the service name, the API Gateway request id as correlation id, the cold
  start flag, the route, the principal (the caller's sub, from either kind of authorizer) and any path
  parameters named in `path_keys`; one `request` line per request with its status and duration. Never
  tokens, and never bodies: services log no names, e-mails or whole orders at INFO.
- Metrics (EMF on stdout): whatever the request added (the services count their business events
  through `metrics`, a `ports.MetricSink`), flushed after every request, failed ones included, plus
  the cold start metric on a container's first request.
- Traces (tracing.py): one span per request and one per DynamoDB call, sent to X-Ray where the stage
  sets `TRACING=xray`. Building it sets up the exporter, so a function that serves no HTTP request (the
  users authorizer) passes `tracing_at_import=False` and never builds it.
"""
import time
from typing import Any, Callable, Dict, Optional, Sequence

from aws_lambda_powertools import Logger, Metrics

from .claims import claims_from_context
from .tracing import Tracing


def principal_of(context: Dict[str, Any]) -> Optional[str]:
    """The caller's sub: a custom authorizer's principalId, or a Cognito authorizer's `sub` claim."""
    authorizer = context.get("authorizer") or {}
    principal = authorizer.get("principalId") or claims_from_context(authorizer).get("sub")
    return principal if isinstance(principal, str) else None


class Observability:
    def __init__(self, service: str, namespace: str, path_keys: Sequence[str] = (), tracing: str = "off",
                 tracing_at_import: bool = True) -> None:
        self.service = service
        self.logger = Logger(service=service)
        self.metrics = Metrics(namespace=namespace, service=service)
        self.tracing = Tracing(service, tracing)
        self.path_keys = tuple(path_keys)
        self._cold = True
        if tracing_at_import:  # in the init phase, not in the first request
            self.tracing.build()

    def take_cold_start(self) -> bool:
        cold, self._cold = self._cold, False
        return cold

    def install(self, app: Any) -> None:
        """Register the middleware on `app` (once, at import)."""
        @app.middleware("http")
        def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
            return self.around(app, event, get_response)

    def around(self, app: Any, event: Any, get_response: Callable[[Any], Any]) -> Any:
        context: Dict[str, Any] = event.context or {}
        route = f"{event.method} {context.get('resourcePath', event.path)}"
        params = event.uri_params or {}
        keys = {"cold_start": self.take_cold_start(), "route": route, "principal": principal_of(context),
                **{name: params.get(name) for name in self.path_keys}}
        lambda_context = app.lambda_context
        self.logger.set_correlation_id(context.get("requestId") or getattr(lambda_context, "aws_request_id", None))
        self.logger.append_keys(**keys)
        started = time.perf_counter()
        status = 500
        try:
            if keys["cold_start"] and lambda_context is not None:
                self.metrics.provider.add_cold_start_metric(context=lambda_context)
            with self.tracing.request(event.method, context.get("resourcePath", event.path),
                                      context.get("requestId")) as span:
                response = get_response(event)
                span.status(response.status_code)
            status = response.status_code
            if not any(name.lower() == "content-type" for name in response.headers):
                # Chalice's own errors (e.g. its 415 for a non-JSON Content-Type) are JSON without saying so.
                response.headers["Content-Type"] = "application/json"
            return response
        finally:
            self.logger.info("request", extra={"status": status,
                                               "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
            if self.metrics.metric_set:
                self.metrics.flush_metrics()
            self.logger.remove_keys(list(keys))
            self.logger.set_correlation_id(None)

    def authorizer_context(self) -> None:
        """Log context for a TOKEN authorizer (its own Lambda function, which no middleware wraps)."""
        self.logger.append_keys(cold_start=self.take_cold_start(), route="authorizer")
