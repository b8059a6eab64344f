# GENERATED from chalicelib_shared/otlp_udp.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Spans as OTLP over UDP to the function's X-Ray endpoint, the way the AWS Distro for OpenTelemetry
(ADOT) exports inside Lambda: its `OTLPUdpSpanExporter`,
https://github.com/aws-observability/aws-otel-python-instrumentation/blob/main/aws-opentelemetry-distro/src/amazon/opentelemetry/distro/otlp_udp_exporter.py
and the encoder of its Lambda "lite" SDK (in the same directory of that repository).

Lambda with active tracing gives every function an X-Ray endpoint on loopback, named by
`AWS_XRAY_DAEMON_ADDRESS` (`host:port`). ADOT sends sampled spans there as datagrams: the line
`{"format":"json","version":1}`, then `T1S` and the base64 of an OTLP `ExportTraceServiceRequest`
(protobuf, opentelemetry/proto/collector/trace/v1). Lambda forwards them to X-Ray, which places the
spans in the invocation's trace.

The encoder writes only the fields our spans have (tracing.py), with the standard library:
OpenTelemetry's own encoder needs `protobuf` and the SDK's span classes (README, "Tracing", for what
they cost a cold start). tests/integration/test_tracing.py decodes what it sends with the official
OTLP definitions (opentelemetry-proto).
"""
import base64
import socket
import struct
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

PROTOCOL_HEADER = b'{"format":"json","version":1}\n'
SAMPLED_TRACES = b"T1S"  # ADOT's prefix for sampled spans (nothing unsampled is ever sent)
DEFAULT_ENDPOINT = "127.0.0.1:2000"


def parse_endpoint(endpoint: str) -> Tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS {endpoint!r} is not host:port")
    return host, int(port)


# -- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ------------------------
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # a negative int64 as two's complement
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _len(field: int, payload: bytes) -> bytes:
    return _tag(field, 2) + _varint(len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _len(field, text.encode("utf-8")) if text else b""


def _fixed64(field: int, value: int) -> bytes:
    return _tag(field, 1) + struct.pack("<Q", value)


def _any_value(value: Any) -> bytes:  # opentelemetry.proto.common.v1.AnyValue
    if isinstance(value, bool):
        return _tag(2, 0) + _varint(int(value))
    if isinstance(value, int):
        return _tag(3, 0) + _varint(value)
    if isinstance(value, float):
        return _tag(4, 1) + struct.pack("<d", value)
    if isinstance(value, (list, tuple)):
        return _len(5, b"".join(_len(1, _any_value(v)) for v in value))  # ArrayValue
    return _len(1, str(value).encode("utf-8"))


def _attributes(field: int, attributes: Mapping[str, Any]) -> bytes:  # repeated KeyValue
    return b"".join(_len(field, _str(1, key) + _len(2, _any_value(value))) for key, value in attributes.items())


def _span(span: Any) -> bytes:  # opentelemetry.proto.trace.v1.Span, from a tracing.Span
    out = [_len(1, span.trace_id), _len(2, span.span_id)]
    if span.parent_id:
        out.append(_len(4, span.parent_id))
    out += [_str(5, span.name), _tag(6, 0) + _varint(span.kind), _fixed64(7, span.start), _fixed64(8, span.end),
            _attributes(9, span.attributes)]
    for time_ns, name, attributes in span.events:
        out.append(_len(11, _fixed64(1, time_ns) + _str(2, name) + _attributes(3, attributes)))
    out.append(_len(15, _str(2, span.status_message) + _tag(3, 0) + _varint(span.status_code)))  # Status
    return b"".join(out)


def encode(resource: Mapping[str, Any], scope: str, spans: Iterable[Any]) -> bytes:
    """An ExportTraceServiceRequest holding `spans`, all of one resource and one instrumentation scope."""
    scope_spans = _len(1, _str(1, scope)) + b"".join(_len(2, _span(span)) for span in spans)
    return _len(1, _len(1, _attributes(1, resource)) + _len(2, scope_spans))


def datagram(request: bytes) -> bytes:
    return PROTOCOL_HEADER + SAMPLED_TRACES + base64.b64encode(request)


class UdpExporter:
    """Sends each request's spans as one datagram; never raises, never blocks. The socket is opened by
    the first export, so a SnapStart snapshot (taken after init) holds none."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT) -> None:
        self.address = parse_endpoint(endpoint)
        self._socket: Optional[socket.socket] = None

    def export(self, resource: Dict[str, Any], scope: str, spans: Sequence[Any]) -> bool:
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._socket.setblocking(False)  # a trace is never worth a request's time
            self._socket.sendto(datagram(encode(resource, scope, spans)), self.address)
        except OSError:
            return False
        return True
