# GENERATED from chalicelib_shared/ports.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""What a service is handed instead of the outside world, the same in both apps: the time (`Clock`,
by default `utc_now`) and somewhere to count business events (`MetricSink`: Powertools' Metrics in
the apps, a recorder in tests, `NO_METRICS` when nobody counts)."""
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> Any: ...

    def add_metadata(self, key: str, value: Any) -> Any: ...


class _NoMetrics:
    def add_metric(self, name: str, unit: str, value: float) -> None:
        return None

    def add_metadata(self, key: str, value: Any) -> None:
        return None


NO_METRICS: MetricSink = _NoMetrics()
