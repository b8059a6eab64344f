"""Spans as OTLP over UDP to the function's X-Ray endpoint, the way the AWS Distro for OpenTelemetry
(ADOT) exports inside Lambda: its `OTLPUdpSpanExporter`,
https://github.com/aws-observability/aws-otel-python-instrumentation/blob/main/aws-opentelemetry-distro/src/amazon/opentelemetry/distro/otlp_udp_exporter.py
and its Lambda "lite" SDK.

Lambda with active tracing gives every function an X-Ray endpoint on loopback, named by
`AWS_XRAY_DAEMON_ADDRESS` (`host:port`). ADOT sends sampled spans there as datagrams: the line
`{"format":"json","version":1}`, then `T1S` and the base64 of an OTLP `ExportTraceServiceRequest`
(protobuf). Lambda forwards them to X-Ray, which places the spans in the invocation's trace.

Why the protobuf encoding is ours (as in ADOT's Lambda lite SDK): OpenTelemetry's encoder
(opentelemetry-exporter-otlp-proto-common with protobuf) adds about 23 ms to every cold start, a
tenth of what boto3 and one client cost (README, "Tracing"). The ~50 lines below write only the
fields a span of ours has; tests/integration/test_tracing.py decodes what they send with the official
OTLP definitions (opentelemetry-proto).
"""
import base64
import socket
import struct
from typing import Any, Dict, List, Sequence, Tuple

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

PROTOCOL_HEADER = b'{"format":"json","version":1}\n'
SAMPLED_TRACES = b"T1S"  # ADOT's prefix for sampled spans (the SDK's processors see only sampled ones)
DEFAULT_ENDPOINT = "127.0.0.1:2000"


def parse_endpoint(endpoint: str) -> Tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS {endpoint!r} is not host:port")
    return host, int(port)


# -- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ------------------------
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _len(field, text.encode("utf-8")) if text else b""


def _fixed64(field: int, value: int) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<Q", value)


def _any_value(value: Any) -> bytes:  # opentelemetry.proto.common.v1.AnyValue
    if isinstance(value, bool):
        return _varint(2 << 3) + _varint(int(value))
    if isinstance(value, int):
        return _varint(3 << 3) + _varint(value)
    if isinstance(value, float):
        return _varint(4 << 3 | 1) + struct.pack("<d", value)
    if isinstance(value, (list, tuple)):
        return _len(5, b"".join(_len(1, _any_value(v)) for v in value))
    return _len(1, str(value).encode("utf-8"))


def _attributes(field: int, attributes: Any) -> bytes:  # repeated KeyValue
    return b"".join(_len(field, _str(1, key) + _len(2, _any_value(value)))
                    for key, value in (attributes or {}).items())


def _span(span: ReadableSpan) -> bytes:  # opentelemetry.proto.trace.v1.Span
    context = span.get_span_context()
    if context is None:  # never for a span the SDK ended
        return b""
    out = [_len(1, context.trace_id.to_bytes(16, "big")), _len(2, context.span_id.to_bytes(8, "big"))]
    if span.parent is not None:
        out.append(_len(4, span.parent.span_id.to_bytes(8, "big")))
    out += [_str(5, span.name), _varint(6 << 3) + _varint(span.kind.value + 1),  # OTLP counts from UNSPECIFIED
            _fixed64(7, span.start_time or 0), _fixed64(8, span.end_time or 0), _attributes(9, span.attributes)]
    for event in span.events:
        out.append(_len(11, _fixed64(1, event.timestamp) + _str(2, event.name) + _attributes(3, event.attributes)))
    status = _str(2, span.status.description or "") + _varint(3 << 3) + _varint(span.status.status_code.value)
    out.append(_len(15, status))
    return b"".join(out)


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """An ExportTraceServiceRequest: one ResourceSpans per resource, one ScopeSpans per scope."""
    grouped: Dict[Any, Dict[Any, List[ReadableSpan]]] = {}
    for span in spans:
        grouped.setdefault(span.resource, {}).setdefault(span.instrumentation_scope, []).append(span)
    request = b""
    for resource, scopes in grouped.items():
        body = _len(1, _attributes(1, resource.attributes))
        for scope, members in scopes.items():
            scope_bytes = _str(1, scope.name) + _str(2, scope.version or "") if scope else b""
            body += _len(2, _len(1, scope_bytes) + b"".join(_len(2, _span(s)) for s in members))
        request += _len(1, body)
    return request


def datagram(spans: Sequence[ReadableSpan]) -> bytes:
    return PROTOCOL_HEADER + SAMPLED_TRACES + base64.b64encode(encode_spans(spans))


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
