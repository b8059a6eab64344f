"""Logs, metrics and traces, wired once around every request by a Chalice middleware.

- Logger: JSON lines with service, correlation id (API Gateway's requestId), cold start, route,
  principal (the caller's sub) and orderId. Never the token or a whole order at INFO.
- Metrics: EMF printed to stdout, flushed after every request, failed ones included. The service
  adds business metrics (a replayed create adds none); the first request adds the cold start metric.
- Tracer: one subsegment per request; it switches itself off outside Lambda.
"""
import time
from typing import Any, Callable, Optional

from aws_lambda_powertools import Logger, Metrics, Tracer
from chalice import Chalice, Response
from chalice.app import Request

from chalicelib.shared.claims import claims_from_context


class Observability:
    def __init__(self, service: str, namespace: str) -> None:
        self.logger = Logger(service=service)
        self.metrics = Metrics(service=service, namespace=namespace)
        self.tracer = Tracer(service=service, patch_modules=["botocore"])
        self._cold_start = True

    def install(self, app: Chalice) -> None:
        """Register the middleware on `app` (once, at import)."""
        @app.middleware("http")
        def observe(event: Request, get_response: Callable[[Request], Response]) -> Response:
            return self.around(app, event, get_response)

    def around(self, app: Chalice, event: Request, get_response: Callable[[Request], Response]) -> Response:
        cold_start, self._cold_start = self._cold_start, False
        context = event.context or {}
        lambda_context = app.lambda_context
        request_id = context.get("requestId") or getattr(lambda_context, "aws_request_id", None)
        self.logger.set_correlation_id(request_id)
        self.logger.append_keys(cold_start=cold_start,
                                route=f"{event.method} {context.get('resourcePath', '')}",
                                principal=_principal(context),
                                orderId=(event.uri_params or {}).get("orderId"))
        started = time.perf_counter()
        status = 500
        try:
            if cold_start and lambda_context is not None:
                self.metrics.provider.add_cold_start_metric(context=lambda_context)
            with self.tracer.provider.in_subsegment(name=f"## {event.method} {context.get('resourcePath', '')}"):
                response = get_response(event)
            status = response.status_code
            return response
        finally:
            self.logger.info("request handled", extra={
                "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
            if self.metrics.metric_set:
                self.metrics.flush_metrics()
            self.logger.remove_keys(["cold_start", "route", "principal", "orderId"])
            self.logger.set_correlation_id(None)


def _principal(context: Any) -> Optional[str]:
    sub = claims_from_context((context or {}).get("authorizer")).get("sub")
    return sub if isinstance(sub, str) else None
