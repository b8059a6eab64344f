"""A shortened `make load` against the test stack: at least 500 requests of the realistic mix,
bounded to about 20 s, with the same bar as the full run (0 lost, 0 duplicated, 0 wrong final
states, 0 5xx, 0 transport errors, 0 unexpected answers)."""
import urllib.parse

import pytest

from deploy.perf import load
from tests.support.stack import StackHandle

pytestmark = pytest.mark.integration

MIN_REQUESTS = 500


def test_short_load_run_loses_and_duplicates_nothing(stack: StackHandle, local_stack_only: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The session's own stack only: the driver signs up users and leaves its data (`make load` too)."""
    urls = [stack.users_url, stack.orders_url, stack.outputs.get("DynamoDBEndpointUrl") or ""]
    if any(urllib.parse.urlsplit(u).hostname not in load.LOOPBACK for u in urls):
        pytest.skip("the load driver only runs against a local stack")
    report = load.run(stack.outputs, clients=8, duration=20.0, max_requests=600)
    with capsys.disabled():
        print("\n" + report.render())
    assert report.total >= MIN_REQUESTS, f"only {report.total} requests in 20 s"
    assert report.acknowledged_creates > 0 and report.acknowledged_cancels > 0
    assert {"POST /orders", "POST /orders (retry)", "GET /orders/{id}", "GET /orders", "PUT /orders/{id}",
            "DELETE /orders/{id}", "GET /users/{id}", "PUT /users/{id}", "GET /users (admin)"} <= set(report.routes)
    assert (report.lost, report.duplicated, report.wrong_state) == (0, 0, 0), report.audit_problems
    assert (report.five_xx, report.transport_errors, report.unexpected) == (0, 0, 0), report.problems
    assert report.passed
