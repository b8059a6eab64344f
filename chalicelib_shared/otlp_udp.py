"""Spans as OTLP over UDP to the function's X-Ray endpoint, the way the AWS Distro for OpenTelemetry
(ADOT) exports inside Lambda (its `OTLPUdpSpanExporter`, aws-otel-python-instrumentation,
amazon/opentelemetry/distro/otlp_udp_exporter.py).

Lambda with active tracing gives every function an X-Ray endpoint on loopback, named by
`AWS_XRAY_DAEMON_ADDRESS` (`host:port`). ADOT sends each batch of sampled spans there as one datagram:
the line `{"format":"json","version":1}`, then `T1S` and the base64 of an OTLP
`ExportTraceServiceRequest` (protobuf, encoded by OpenTelemetry's own `encode_spans`). Lambda forwards
it to X-Ray, which places the spans in the trace of the invocation's `_X_AMZN_TRACE_ID`.

Why this class is ours: it is ADOT's 20 lines, and the ADOT package itself would bring OpenTelemetry's
gRPC and HTTP exporters and 40 instrumentations into each function (README, "Tracing").
"""
import base64
import socket
from typing import Sequence, Tuple

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

PROTOCOL_HEADER = b'{"format":"json","version":1}\n'
SAMPLED_TRACES = b"T1S"  # ADOT's prefix for sampled spans (the processor only exports sampled ones)
DEFAULT_ENDPOINT = "127.0.0.1:2000"


def parse_endpoint(endpoint: str) -> Tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS {endpoint!r} is not host:port")
    return host, int(port)


def datagram(spans: Sequence[ReadableSpan]) -> bytes:
    return PROTOCOL_HEADER + SAMPLED_TRACES + base64.b64encode(encode_spans(spans).SerializeToString())


class OtlpUdpSpanExporter(SpanExporter):
    def __init__(self, endpoint: str = DEFAULT_ENDPOINT) -> None:
        self.address = parse_endpoint(endpoint)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)  # a trace is never worth a request's time

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self._socket.sendto(datagram(spans), self.address)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._socket.close()
