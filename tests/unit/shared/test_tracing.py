"""The tracing switch and its pieces (chalicelib_shared/tracing.py, otlp_udp.py): off unless a stage asks,
a clear error for a mode that does not exist, X-Ray's trace header read as Lambda writes it, and `console`
showing the spans (what `TRACING=console make dev` prints). What X-Ray receives in Lambda, decoded with
the official OTLP definitions, is tests/integration/test_tracing.py."""
import json
from typing import Any

import pytest

from chalicelib_shared.otlp_udp import parse_endpoint
from chalicelib_shared.settings import SettingsError, env_choice
from chalicelib_shared.tracing import MODES, Tracing, invocation_parent


def test_off_records_nothing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    tracing = Tracing("users").build()
    with tracing.request("GET", "/users", "r1") as span:
        span.status(200)
    assert (tracing.enabled, tracing._exporter, capsys.readouterr().out) == (False, None, "")


def test_an_unknown_mode_is_refused_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match="TRACING must be one of off, xray, console, got 'x-ray'"):
        env_choice("TRACING", "off", MODES, {"TRACING": "x-ray"})
    assert env_choice("TRACING", "off", MODES, {}) == "off"
    assert env_choice("TRACING", "off", MODES, {"TRACING": " XRay "}) == "xray"
    with pytest.raises(ValueError, match="tracing mode"):
        Tracing("users", "on")


def test_the_x_ray_endpoint_must_be_host_and_port() -> None:
    assert parse_endpoint("169.254.79.129:2000") == ("169.254.79.129", 2000)
    for bad in ("2000", "localhost:", ":2000", "host:port"):
        with pytest.raises(ValueError, match="AWS_XRAY_DAEMON_ADDRESS"):
            parse_endpoint(bad)


@pytest.mark.parametrize("header, expected", [
    ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
     ("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", True)),
    ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
     ("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", False)),
    ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1;Lineage=a87bd80c:0",
     ("5759e988bd862e3fe1be46a994272793", None, True)),
    ("Root=1-zz59e988-bd862e3fe1be46a994272793;Parent=nothex;Sampled=1", (None, None, True)),
    ("", (None, None, True)),  # no header (local runs): a new trace of our own
])
def test_the_invocation_trace_header(header: str, expected: Any) -> None:
    trace_id, parent, sampled = invocation_parent(header)
    assert (trace_id and trace_id.hex(), parent and parent.hex(), sampled) == expected


def test_console_shows_the_request_span_with_its_route_and_status(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
                                           "Sampled=1")
    with Tracing("orders", "console").request("GET", "/orders/{orderId}", "req-1") as span:
        span.status(503)
    printed = json.loads(capsys.readouterr().out)
    assert (printed["name"], printed["kind"]) == ("GET /orders/{orderId}", "SERVER")
    assert (printed["trace_id"], printed["parent_id"]) == ("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8")
    assert printed["attributes"] == {"http.request.method": "GET", "http.route": "/orders/{orderId}",
                                     "aws.request_id": "req-1", "http.response.status_code": 503}
    assert printed["status"]["code"] == "ERROR"
    assert printed["start_unix_nano"] <= printed["end_unix_nano"]


def test_an_exception_escaping_the_route_fails_the_span(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    with pytest.raises(KeyError):
        with Tracing("users", "console").request("GET", "/users", None):
            raise KeyError("boom")
    printed = json.loads(capsys.readouterr().out)
    assert printed["parent_id"] is None and len(printed["trace_id"]) == 32  # a new trace, X-Ray's id form
    assert printed["status"]["code"] == "ERROR"
    assert printed["events"] == [{"name": "exception", "attributes": {"exception.type": "KeyError",
                                                                      "exception.message": "'boom'"}}]
