"""Powertools Logger, Metrics and Tracer for the users service, built once, wired by one middleware.

Logs are JSON (service `users`) with the API Gateway request id as correlation id, the cold start
flag, the route and the principal. Names, emails and tokens are never logged.
"""
import time
from typing import Any, Callable, Dict

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from .settings import Settings


class Observability:
    def __init__(self, settings: Settings) -> None:
        self.logger = Logger(service=settings.service_name)
        self.metrics = Metrics(namespace=settings.metrics_namespace, service=settings.service_name)
        self.tracer = Tracer(service=settings.service_name, patch_modules=["botocore"])
        self._cold = True

    def count(self, name: str) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)

    def take_cold_start(self) -> bool:
        cold, self._cold = self._cold, False
        return cold

    def http_middleware(self, event: Any, get_response: Callable[[Any], Any]) -> Any:
        """Chalice `http` middleware: log context in, metrics flushed out, one trace subsegment."""
        context: Dict[str, Any] = event.context or {}
        authorizer = context.get("authorizer") or {}
        route = f"{event.method} {context.get('resourcePath', event.path)}"
        keys = {"cold_start": self.take_cold_start(), "route": route,
                "principal": authorizer.get("principalId") or authorizer.get("sub")}
        lambda_context = getattr(event, "lambda_context", None)
        self.logger.set_correlation_id(context.get("requestId") or getattr(lambda_context, "aws_request_id", None))
        self.logger.append_keys(**keys)
        started = time.perf_counter()
        try:
            with self.tracer.provider.in_subsegment(f"## {route}") as subsegment:
                subsegment.put_annotation("route", route)
                response = get_response(event)
                subsegment.put_annotation("status", response.status_code)
            if not isinstance(response.body, (str, bytes)) and "Content-Type" not in response.headers:
                # Chalice's own errors (e.g. its 415 for a non-JSON Content-Type) are JSON without the header.
                response.headers["Content-Type"] = "application/json"
            self.logger.info("request", extra={"status": response.status_code,
                                               "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
            return response
        finally:
            if self.metrics.metric_set:
                self.metrics.flush_metrics()
            self.logger.remove_keys(list(keys))
            self.logger.set_correlation_id(None)

    def authorizer_context(self) -> None:
        """Log context for the authorizer (its own Lambda, no middleware)."""
        self.logger.append_keys(cold_start=self.take_cold_start(), route="authorizer")
