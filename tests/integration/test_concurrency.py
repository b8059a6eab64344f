"""Concurrency against the multi-worker local gateway (one request at a time per worker, like
Lambda). Every test proves that its requests really overlapped, since a serialised server would
pass these checks trivially:

- 50 identical creates at once: one stored order, one `SuccessfulOrder` metric, every answer the
  same 200 body or a 409 RequestInProgress (the create is held LOCAL_CREATE_DELAY_MS, so the
  first one is in flight while the others arrive; in-flight 409s are seen).
- edit (PUT) and cancel (DELETE) of one order at once, 30 rounds: DynamoDB Local is frozen
  (SIGSTOP) while both requests reach it, so both are inside the app at the same moment (checked
  in the server log); each round ends as one of them alone would leave it, never a lost update.
- creates by different users with the same orderId at once: separate orders, each user sees
  only their own (the server log shows the creates overlapping).

The module starts its own stack (4 workers per API, LOCAL_CREATE_DELAY_MS) with deploy.local's
`Stack`, so the delay never slows the shared test stack.
"""
import json
import os
import threading
import time
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import pytest

from deploy.local.stack import Stack
from tests.support.concurrent import TIMEOUT, fire, frozen, orders_call
from tests.support.orders import order_body
from tests.support.stack import StackHandle, start_special_stack
from tests.support.storage import stored_orders

pytestmark = pytest.mark.integration

WORKERS = 4
CREATE_DELAY_MS = 600  # long enough that simultaneous creates overlap even on a busy 2-core machine


# -- evidence helpers -------------------------------------------------------------------------------

def handled(h: StackHandle, order_id: str) -> List[Dict[str, Any]]:
    """The orders app's "request" log lines for `order_id`, each with its server-side
    `start` and `end` (epoch seconds; the line's timestamp minus its duration)."""
    found = []
    for line in h.server_output("orders_app").splitlines():
        if not line.startswith("{") or '"message":"request"' not in line or order_id not in line:
            continue
        entry = json.loads(line)
        if entry.get("orderId") != order_id:
            continue
        end = datetime.strptime(entry["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z").timestamp()
        entry["end"], entry["start"] = end, end - entry["duration_ms"] / 1000
        found.append(entry)
    return found


def overlapping(intervals: Sequence[Tuple[float, float]]) -> bool:
    """True if all the intervals share one moment."""
    return max(s for s, _ in intervals) < min(e for _, e in intervals)


def successful_order_lines(h: StackHandle, total: str) -> int:
    """EMF lines with a SuccessfulOrder metric whose OrderTotal is `total` (unique per test)."""
    count = 0
    for line in h.server_output("orders_app").splitlines():
        if line.startswith('{"_aws"') and '"SuccessfulOrder"' in line:
            if json.loads(line, parse_float=Decimal).get("OrderTotal") == [Decimal(total)]:
                count += 1
    return count


# -- fixtures -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def special(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Stack, StackHandle]]:
    if os.environ.get("INTEGRATION_OUTPUTS"):
        pytest.skip("needs its own local stack (worker count, injected delay, DynamoDB's PID)")
    local, handle = start_special_stack(tmp_path_factory.mktemp("concurrency-stack"), WORKERS, persistent=False,
                                        env={"LOCAL_CREATE_DELAY_MS": str(CREATE_DELAY_MS)})
    try:
        yield local, handle
    finally:
        local.stop()


@pytest.fixture(scope="module")
def h(special: Tuple[Stack, StackHandle]) -> StackHandle:
    return special[1]


# -- the tests ----------------------------------------------------------------------------------------

def test_50_identical_creates_make_exactly_one_order(h: StackHandle) -> None:
    user = h.new_user()
    total = f"{uuid.uuid4().int % 90000 / 100 + 100:.2f}"  # identifies this order's metric line
    order_id = str(uuid.uuid4())
    body = order_body(order_id, totalAmount=Decimal(total))
    calls = [orders_call(h, "POST", "/orders", user.id_token, body) for _ in range(50)]
    fire(calls)

    assert all(c.response is not None for c in calls), [c.error for c in calls if c.error]
    ok = [c for c in calls if c.status == 200]
    in_flight = [c for c in calls if c.status == 409]
    assert len(ok) + len(in_flight) == 50, sorted({(c.status, c.response.text) for c in calls})
    assert ok and len({c.response.content for c in ok}) == 1  # every 200 is the same body, byte for byte
    for c in in_flight:
        assert c.json()["Code"] == "RequestInProgress" and int(c.response.headers["Retry-After"]) >= 1
    # Overlap: duplicates were answered 409 while the first create was held in the app, and the
    # first create's answer took at least the injected delay.
    first = min(ok, key=lambda c: c.ended)
    assert in_flight, "no duplicate arrived while the first create was in flight"
    assert first.ended - first.started >= CREATE_DELAY_MS / 1000
    assert any(c.ended < first.ended for c in in_flight)

    docs = stored_orders(h, user.sub, order_id)
    assert len(docs) == 1 and docs[0] == ok[0].json()
    time.sleep(0.3)  # the workers flush their output after each response
    assert successful_order_lines(h, total) == 1
    replay = orders_call(h, "POST", "/orders", user.id_token, order_body(order_id, totalAmount=Decimal(total)))()
    assert replay.status == 200 and replay.response.content == ok[0].response.content
    time.sleep(0.3)
    assert successful_order_lines(h, total) == 1  # a replay emits no metric
    print(f"\n50 identical creates: {len(ok)} x 200, {len(in_flight)} x 409 in flight")


def _place_orders(h: StackHandle, token: str, count: int) -> List[Dict[str, Any]]:
    calls = [orders_call(h, "POST", "/orders", token, order_body(str(uuid.uuid4()))) for _ in range(count)]
    for start in range(0, count, WORKERS):
        fire(calls[start:start + WORKERS])
    assert all(c.status == 200 for c in calls), [(c.status, c.error) for c in calls if c.status != 200]
    return [c.json() for c in calls]


def test_simultaneous_edit_and_cancel_never_lose_an_update(special: Tuple[Stack, StackHandle], h: StackHandle) -> None:
    local, _ = special
    user = h.new_user()
    rounds = 30
    orders = _place_orders(h, user.id_token, rounds)
    db_pid = local.procs["dynamodb"].pid
    outcomes = {"edited then canceled": 0, "canceled, edit rejected": 0}
    overlapped = 0
    for n, order in enumerate(orders):
        order_id = order["orderId"]
        edit_body: Dict[str, Any] = {"orderItems": [{"id": 7, "name": f"Edited {n}", "price": Decimal("3.25"),
                                                     "quantity": 2}], "totalAmount": Decimal("6.50")}
        if n % 2:  # the workshop's client echoes the server-owned fields
            edit_body.update(status="PLACED", orderTime=order["orderTime"])
        edit = orders_call(h, "PUT", f"/orders/{order_id}", user.id_token, edit_body)
        cancel = orders_call(h, "DELETE", f"/orders/{order_id}", user.id_token)
        with frozen(db_pid):  # both requests reach DynamoDB and wait there together
            threads = [threading.Thread(target=c) for c in (edit, cancel)]
            for thread in threads:
                thread.start()
            time.sleep(0.15)
            released = time.time()
        for thread in threads:
            thread.join(TIMEOUT)

        assert cancel.status == 200, cancel.response.text if cancel.response is not None else cancel.error
        canceled = cancel.json()
        assert canceled["status"] == "CANCELED"
        final = stored_orders(h, user.sub, order_id)
        assert len(final) == 1 and final[0] == canceled, "the stored order is not what the cancel answered"
        if edit.status == 200:  # the edit won: the cancel canceled the edited order
            edited = edit.json()
            assert edited["status"] == "PLACED" and edited["totalAmount"] == Decimal("6.50")
            assert {k: v for k, v in canceled.items() if k not in ("status", "updatedAt")} == \
                   {k: v for k, v in edited.items() if k not in ("status", "updatedAt")}
            outcomes["edited then canceled"] += 1
        else:  # the cancel won: the edit is refused and changed nothing
            assert edit.status == 400 and edit.json()["Code"] == "OrderNotPlaced", edit.response.text
            assert canceled["orderItems"] == order["orderItems"] and canceled["totalAmount"] == order["totalAmount"]
            outcomes["canceled, edit rejected"] += 1
        # Evidence of overlap: both were inside the app while DynamoDB was frozen.
        assert edit.ended > released and cancel.ended > released
        time.sleep(0.05)
        spans = [(e["start"], e["end"]) for e in handled(h, order_id) if e["route"].split()[0] in ("PUT", "DELETE")]
        if len(spans) == 2 and overlapping(spans):
            overlapped += 1
    assert overlapped >= rounds * 0.8, f"only {overlapped}/{rounds} rounds overlapped in the server log"
    print(f"\nedit vs cancel, {rounds} rounds ({overlapped} overlapped in the server): {outcomes}")


def test_same_order_id_for_different_users_makes_separate_orders(h: StackHandle) -> None:
    users = [h.new_user() for _ in range(WORKERS)]
    order_id = str(uuid.uuid4())
    bodies = [order_body(order_id, totalAmount=Decimal(f"{10 + i}.25"), restaurantId=100 + i)
              for i in range(len(users))]
    warm = [orders_call(h, "GET", "/orders?limit=1", u.id_token) for u in users]
    fire(warm)  # token checks warm in every worker, so the creates start together
    calls = [orders_call(h, "POST", "/orders", u.id_token, b) for u, b in zip(users, bodies, strict=True)]
    fire(calls)

    for user, body, call in zip(users, bodies, calls, strict=True):
        assert call.status == 200, call.response.text if call.response is not None else call.error
        doc = call.json()
        assert (doc["userId"], doc["orderId"], doc["restaurantId"]) == (user.sub, order_id, body["restaurantId"])
        assert doc["totalAmount"] == body["totalAmount"]
    for user, body in zip(users, bodies, strict=True):
        mine = orders_call(h, "GET", f"/orders/{order_id}", user.id_token)()
        assert mine.status == 200 and mine.json()["userId"] == user.sub
        assert mine.json()["restaurantId"] == body["restaurantId"]
        listed = orders_call(h, "GET", "/orders", user.id_token)().json()["orders"]
        assert [(o["userId"], o["orderId"]) for o in listed] == [(user.sub, order_id)]
        replay = orders_call(h, "POST", "/orders", user.id_token, body)()  # each user's idempotency key is their own
        assert replay.status == 200 and replay.json()["userId"] == user.sub
        assert len(stored_orders(h, user.sub, order_id)) == 1
    time.sleep(0.05)
    spans = [(e["start"], e["end"]) for e in handled(h, order_id) if e["route"] == "POST /orders"
             and e["status"] == 200][:len(users)]
    assert len(spans) == len(users)
    assert overlapping(spans), f"the creates did not overlap in the server: {spans}"
