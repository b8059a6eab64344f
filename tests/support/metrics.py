"""A metrics sink (the apps' `MetricSink` port) that records what the service emits."""
from typing import Any, Dict, List, Tuple


class MetricsRecorder:
    def __init__(self) -> None:
        self.added: List[Tuple[str, float]] = []
        self.metadata: Dict[str, Any] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.added.append((name, value))

    def add_metadata(self, key: str, value: Any) -> None:
        self.metadata[key] = value

    def names(self) -> List[str]:
        return [name for name, _ in self.added]
