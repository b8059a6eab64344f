"""The tracing switch (chalicelib_shared/tracing.py): off unless a stage asks, a clear error for a mode
that does not exist, and `console` showing the spans (what `TRACING=console make dev` prints). What
X-Ray receives in Lambda is tests/integration/test_tracing.py."""
import json
import subprocess
import sys

import pytest

from chalicelib_shared.otlp_udp import parse_endpoint
from chalicelib_shared.settings import SettingsError, env_choice
from chalicelib_shared.tracing import MODES, Tracing
from deploy.project import ROOT


def test_off_records_nothing_and_imports_no_opentelemetry() -> None:
    code = ("import sys; from chalicelib_shared.tracing import Tracing; t = Tracing('users').build()\n"
            "with t.request('GET', '/users', 'r1') as span: span.status(200)\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


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


def test_console_shows_the_request_span_with_its_route_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    tracing = Tracing("orders", "console").build()
    try:
        with tracing.request("GET", "/orders/{orderId}", "req-1") as span:
            span.status(503)
    finally:
        tracing.shutdown()
    printed = json.loads(capsys.readouterr().out)
    assert printed["name"] == "GET /orders/{orderId}" and printed["kind"] == "SpanKind.SERVER"
    assert printed["attributes"] == {"http.request.method": "GET", "http.route": "/orders/{orderId}",
                                     "aws.request_id": "req-1", "http.response.status_code": 503}
    assert printed["status"]["status_code"] == "ERROR"
    assert printed["resource"]["attributes"]["service.name"] == "orders"
