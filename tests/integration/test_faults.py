"""Faults injected into a running local stack: a create that crashes mid-way, DynamoDB Local hung
(SIGSTOP) and killed/restarted during traffic, the JWKS endpoint (moto) unreachable with warm and
with cold key caches. The APIs must answer fast with a JSON 503 + Retry-After, write nothing half,
and recover without a restart.

The module starts its own stack with deploy.local's `Stack`: DynamoDB Local with -dbPath (so it can
be killed and restarted with its data), LOCAL_CREATE_DELAY_MS (to crash a create mid-way), and the
PIDs of DynamoDB, moto and the gateways' workers at hand.
"""
import os
import signal
import threading
import time
import uuid
from decimal import Decimal
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from deploy.local.stack import Stack
from deploy.project import stage_env
from tests.support.concurrent import Call, fire, frozen, orders_call
from tests.support.http import assert_error
from tests.support.idempotency import idempotency_key
from tests.support.orders import order_body
from tests.support.stack import StackHandle, start_special_stack
from tests.support.storage import stored_orders

pytestmark = pytest.mark.integration

WORKERS = 2
CREATE_DELAY_MS = 250
LOCAL_LAMBDA_TIMEOUT = 5.0   # orders_app/.chalice/config.json, stage local
DEPLOYED_LAMBDA_TIMEOUT = 10.0
# The apps' DynamoDB client: connect 1 s, read 1 s, 2 attempts in all (.chalice/config.json). A create
# meets a hung DynamoDB twice (its order write, then Powertools deleting its in-progress record): two
# calls of at most 2 x 1 s plus a retry back-off each; the bound keeps it inside the local Lambda timeout.
DDB_FAILURE_BOUND = LOCAL_LAMBDA_TIMEOUT
HANG_SECONDS = 6.0          # longer than DDB_FAILURE_BOUND: requests must fail inside the hang
JWKS_TIMEOUT = 2.0           # chalicelib_shared.jwks.JwksClient


# -- stack and process helpers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def special(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Stack, StackHandle]]:
    if os.environ.get("INTEGRATION_OUTPUTS"):
        pytest.skip("injects faults into its own local stack")
    local, handle = start_special_stack(tmp_path_factory.mktemp("faults-stack"), WORKERS, persistent=True,
                                        env={"LOCAL_CREATE_DELAY_MS": str(CREATE_DELAY_MS)})
    try:
        yield local, handle
    finally:
        for name in ("dynamodb", "cognito"):  # never leave a stopped process behind
            if name in local.procs:
                try:
                    os.kill(local.procs[name].pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        local.stop()


@pytest.fixture(scope="module")
def h(special: Tuple[Stack, StackHandle]) -> StackHandle:
    return special[1]


def restart_workers(local: Stack, app: str) -> List[int]:
    """SIGKILL every worker of `app` (a crashed Lambda container); the gateway starts new ones.
    Returns the new PIDs once all are running."""
    old = local.worker_pids(app)
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        new = local.worker_pids(app)
        if len(new) == WORKERS and not set(new) & set(old):
            return new
        time.sleep(0.05)
    raise AssertionError(f"{app}: the gateway did not replace its workers {old}")


def served_by(h: StackHandle, app: str) -> set:
    """PIDs of the workers that answered an authorized request with 200 (from the gateway's log)."""
    pids = set()
    for line in h.server_output(app).splitlines():
        if line.startswith("[gateway ") and line.rstrip().endswith(" 200"):
            pids.add(int(line.split()[1].rstrip("]")))
    return pids


def warm_every_worker(local: Stack, h: StackHandle, user: Any) -> None:
    """Send authorized requests until every worker of both APIs has verified a token (so each
    holds the JWKS in its cache). The user's own record is created first, so every answer is 200."""
    assert Call("PUT", f"{h.users_url}/users/{user.sub}", user.id_token, {"name": "Warm"})().status == 200
    for app, url in (("orders_app", h.orders_url + "/orders?limit=1"),
                     ("users_app", f"{h.users_url}/users/{user.sub}")):
        for _ in range(20):
            if set(local.worker_pids(app)) <= served_by(h, app):
                break
            calls = [Call("GET", url, user.id_token) for _ in range(WORKERS * 2)]
            fire(calls)
            assert all(c.status == 200 for c in calls), [c.status for c in calls]
            time.sleep(0.1)
        else:
            raise AssertionError(f"could not reach every {app} worker")


def assert_503(call: Call, code: Optional[str] = None) -> None:
    """A JSON 503 (the error shape, `code` when given) that says when to retry."""
    assert call.response is not None, f"{call.method} {call.url}: {call.error}"
    assert call.status == 503, (call.method, call.url, call.status, call.response.text)
    assert_error(call.response, 503, code)
    assert int(call.response.headers["Retry-After"]) >= 1


def scan_all(h: StackHandle) -> Dict[str, List[Any]]:
    out = {}
    for logical in ("UsersTable", "OrdersTable", "IdempotencyTable"):
        items, kwargs = [], {"TableName": h.table(logical), "ConsistentRead": True}
        while True:
            page = h.ddb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out[logical] = sorted(items, key=repr)
    return out


def idempotency_record(h: StackHandle, user_id: str, order_id: str) -> Optional[Dict[str, Any]]:
    return h.ddb.get_item(TableName=h.table("IdempotencyTable"), ConsistentRead=True,
                          Key={"id": {"S": idempotency_key(user_id, order_id)}}).get("Item")


def create_until_done(h: StackHandle, token: str, body: Dict[str, Any], deadline: float) -> List[Call]:
    """Retry a create (as a client told Retry-After would) until it is not 409/503 any more."""
    calls = []
    while True:
        call = orders_call(h, "POST", "/orders", token, body)()
        calls.append(call)
        if call.status not in (409, 503) or time.monotonic() > deadline:
            return calls
        if call.status == 409:
            assert call.json()["Code"] == "RequestInProgress", call.response.text
        time.sleep(0.25)


# -- a create that crashes mid-way ---------------------------------------------------------------------

def test_crashed_create_is_in_flight_until_its_lambda_time_runs_out_then_a_retry_succeeds(
        special: Tuple[Stack, StackHandle], h: StackHandle) -> None:
    local, _ = special
    user = h.new_user()
    order_id = str(uuid.uuid4())
    body = order_body(order_id, totalAmount=Decimal("31.41"))
    crashed = orders_call(h, "POST", "/orders", user.id_token, body)
    thread = threading.Thread(target=crashed)
    thread.start()
    deadline = time.monotonic() + 5
    while idempotency_record(h, user.sub, order_id) is None:  # the create is now held inside the app
        assert time.monotonic() < deadline, "the create never wrote its in-progress record"
        time.sleep(0.01)
    restart_workers(local, "orders_app")  # the "Lambda" dies before the order is written
    thread.join(10)
    assert crashed.response is None, "the crashed request was answered"
    record = idempotency_record(h, user.sub, order_id)
    assert record["status"]["S"] == "INPROGRESS" and stored_orders(h, user.sub, order_id) == []
    in_progress_until = int(record["in_progress_expiration"]["N"]) / 1000
    # The record expires with the Lambda's remaining time (the local stage's lambda_timeout).
    assert abs(in_progress_until - crashed.started - LOCAL_LAMBDA_TIMEOUT) < 1.0

    retries = create_until_done(h, user.id_token, body, deadline=time.monotonic() + LOCAL_LAMBDA_TIMEOUT + 5)
    during, done = retries[:-1], retries[-1]
    assert during, "no retry fell inside the in-progress window"
    for call in during:
        assert call.status == 409 and call.json()["Code"] == "RequestInProgress"
        assert int(call.response.headers["Retry-After"]) >= 1
        assert call.started < in_progress_until + 0.1
    assert done.status == 200, done.response.text
    assert done.started >= in_progress_until - 0.3, "the retry succeeded while the record was in progress"
    assert done.started <= in_progress_until + 1.5
    docs = stored_orders(h, user.sub, order_id)
    assert len(docs) == 1 and docs[0] == done.json()
    assert idempotency_record(h, user.sub, order_id)["status"]["S"] == "COMPLETED"
    print(f"\ncrash mid-create: {len(during)} retries got 409 in flight, the retry "
          f"{done.started - crashed.started:.1f} s after the crash got 200")


# -- DynamoDB Local hung (SIGSTOP) during traffic ------------------------------------------------------

class Traffic:
    """Client threads, each its own user, cycling through creates, reads, lists, edits and users
    GET/PUT until stopped. Every call is kept with its timing."""

    def __init__(self, h: StackHandle, users: List[Any]) -> None:
        self.h, self.users = h, users
        self.calls: List[Tuple[str, Call, Any]] = []  # (operation, call, context)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(u,)) for u in users]

    def _record(self, op: str, call: Call, context: Any = None) -> Call:
        with self.lock:
            self.calls.append((op, call, context))
        return call

    def _run(self, user: Any) -> None:
        h, token = self.h, user.id_token
        mine: List[Dict[str, Any]] = []
        n = 0
        while not self.stop.is_set():
            n += 1
            op = ("create", "get", "list", "edit", "user_get", "user_put")[n % 6]
            if op == "create" or not mine:
                body = order_body(str(uuid.uuid4()))
                call = self._record("create", orders_call(h, "POST", "/orders", token, body)(), body)
                if call.status == 200:
                    mine.append(call.json())
            elif op == "get":
                self._record(op, orders_call(h, "GET", f"/orders/{mine[-1]['orderId']}", token)())
            elif op == "list":
                self._record(op, orders_call(h, "GET", "/orders?limit=5", token)())
            elif op == "edit":
                quantity = 1 + n % 7  # the total always equals price x quantity: a half write would show
                edit = {"orderItems": [{"id": 1, "name": "Soup", "price": Decimal("2.50"), "quantity": quantity}],
                        "totalAmount": Decimal("2.50") * quantity}
                self._record(op, orders_call(h, "PUT", f"/orders/{mine[-1]['orderId']}", token, edit)(), mine[-1])
            elif op == "user_get":
                self._record(op, Call("GET", f"{h.users_url}/users/{user.sub}", token)())
            else:
                self._record(op, Call("PUT", f"{h.users_url}/users/{user.sub}", token,
                                      {"name": f"Fault {n}", "email": user.email})())

    def __enter__(self) -> "Traffic":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def test_dynamodb_hang_fails_fast_with_503_and_recovers_without_restart(special: Tuple[Stack, StackHandle],
                                                                        h: StackHandle) -> None:
    local, _ = special
    users = [h.new_user() for _ in range(WORKERS)]  # one client per worker: no request waits in a queue
    for user in users:  # each user's own record exists before the fault
        assert Call("PUT", f"{h.users_url}/users/{user.sub}", user.id_token, {"name": "Before"})().status == 200
    pids = {app: local.worker_pids(app) for app in ("orders_app", "users_app")}
    with Traffic(h, users) as traffic:
        time.sleep(1.0)
        with frozen(local.procs["dynamodb"].pid):
            stopped = time.time()
            time.sleep(HANG_SECONDS)
            resumed = time.time()
        time.sleep(2.0)
    calls = traffic.calls
    durations = {op: [round(c.ended - c.started, 2) for o, c, _ in calls if o == op and c.status == 503]
                 for op in ("create", "get", "list", "edit", "user_get", "user_put")}
    print(f"\nDynamoDB hung {HANG_SECONDS:.0f} s: {len(calls)} requests, "
          f"{sum(c.status == 503 for _, c, _ in calls)} x 503; seconds to the 503 by operation: {durations}")

    assert all(c.response is not None for _, c, _ in calls), [str(c.error) for _, c, _ in calls if c.error]
    assert {c.status for _, c, _ in calls} <= {200, 503}, sorted({(op, c.status) for op, c, _ in calls})
    failed = [(op, c) for op, c, _ in calls if c.status == 503]
    for _op, call in failed:
        assert_503(call)
        assert stopped - 0.1 <= call.ended and call.started <= resumed + 0.1
    assert len(failed) >= 2, "the hang made no request fail"
    inside = [(op, c) for op, c, _ in calls if c.started > stopped + 0.05 and c.ended < resumed]
    assert all(c.status == 503 for _, c in inside)
    # Recovery: everything started after SIGCONT succeeds, served by the same workers.
    after = [(op, c) for op, c, _ in calls if c.started > resumed + 0.2]
    assert after and all(c.status == 200 for _, c in after), [(op, c.status) for op, c in after if c.status != 200]
    assert pids == {app: local.worker_pids(app) for app in ("orders_app", "users_app")}, "a worker was restarted"

    # Nothing half-written: a failed create is absent or complete, and a retry settles it exactly
    # once; a failed edit left the old or the new document, never a mix.
    for op, call, body in calls:
        owner = next(u for u in users if call.token == u.id_token)
        if op == "create" and call.status == 503:
            assert len(stored_orders(h, owner.sub, body["orderId"])) <= 1
            retries = create_until_done(h, owner.id_token, body, time.monotonic() + LOCAL_LAMBDA_TIMEOUT + 3)
            assert retries[-1].status == 200, retries[-1].response.text
            assert [retries[-1].json()] == stored_orders(h, owner.sub, body["orderId"])
        if op == "edit":
            doc = stored_orders(h, owner.sub, body["orderId"])[0]
            assert doc["totalAmount"] == sum(i["price"] * i["quantity"] for i in doc["orderItems"])
    for item in scan_all(h)["IdempotencyTable"]:
        assert item["status"]["S"] == "COMPLETED" or \
            int(item["in_progress_expiration"]["N"]) / 1000 < time.time(), "a live in-progress record"

    # Fail fast: at most two attempts of one read timeout each (+ one back-off) per DynamoDB call,
    # inside the Lambda timeout. (This once failed: botocore's `max_attempts` counts retries, so the
    # apps made 3 attempts, and a create whose order write timed out then waited again to delete its
    # in-progress record; `total_max_attempts` fixed it.)
    slowest = max(((c.ended - c.started), op, c.status) for op, c, _ in calls)
    assert slowest[0] <= DDB_FAILURE_BOUND + 0.3, (
        f"a {slowest[1]} took {slowest[0]:.1f} s (answer {slowest[2]}) while DynamoDB hung; bound "
        f"{DDB_FAILURE_BOUND} s, local Lambda timeout {LOCAL_LAMBDA_TIMEOUT} s. 503 times: {durations}")


def app_read_timeout() -> float:
    return float(stage_env("orders_app")["DDB_READ_TIMEOUT"])


def test_a_cancel_whose_first_attempt_timed_out_is_answered_as_what_happened(special: Tuple[Stack, StackHandle],
                                                                             h: StackHandle) -> None:
    """DEFECT: the SDK retries a timed-out conditional write; when the first attempt was applied
    after all, the retry fails its condition and the service answers 400 OrderNotPlaced for a
    cancel that succeeded (the client is told the opposite of what is stored). Whether DynamoDB
    Local applies the abandoned first attempt varies, so each round cancels one order per worker."""
    local, _ = special
    user = h.new_user()
    hang = app_read_timeout() * 1.4  # longer than one attempt, shorter than two
    outcomes = []
    for _ in range(2):
        placed = [orders_call(h, "POST", "/orders", user.id_token, order_body(str(uuid.uuid4())))()
                  for _ in range(WORKERS)]
        assert all(p.status == 200 for p in placed)
        cancels = [orders_call(h, "DELETE", f"/orders/{p.json()['orderId']}", user.id_token) for p in placed]
        threads = [threading.Thread(target=c) for c in cancels]
        with frozen(local.procs["dynamodb"].pid):  # first attempts time out unanswered, retries wait
            for thread in threads:
                thread.start()
            time.sleep(hang)
        for thread in threads:
            thread.join(15)
        for p, cancel in zip(placed, cancels, strict=True):
            final = stored_orders(h, user.sub, p.json()["orderId"])[0]
            outcomes.append((cancel.status, final["status"]))
    print(f"\ncancels during a {hang:.1f} s hang (answer, stored): {outcomes}")
    for status, stored_status in outcomes:
        assert status in (200, 503), outcomes
        assert stored_status == "CANCELED" or status == 503, outcomes


# -- DynamoDB Local killed and restarted ---------------------------------------------------------------

def test_dynamodb_killed_then_restarted_keeps_its_data_and_the_apis_recover(special: Tuple[Stack, StackHandle],
                                                                            h: StackHandle) -> None:
    local, _ = special
    user = h.new_user()
    assert Call("PUT", f"{h.users_url}/users/{user.sub}", user.id_token, {"name": "Kept"})().status == 200
    placed = orders_call(h, "POST", "/orders", user.id_token, order_body(str(uuid.uuid4())))()
    assert placed.status == 200
    before = scan_all(h)
    pids = {app: local.worker_pids(app) for app in ("orders_app", "users_app")}
    proc = local.procs["dynamodb"]
    proc.kill()
    proc.wait(10)
    try:
        down = [orders_call(h, "GET", f"/orders/{placed.json()['orderId']}", user.id_token),
                orders_call(h, "POST", "/orders", user.id_token, order_body(str(uuid.uuid4()))),
                orders_call(h, "GET", "/orders", user.id_token),
                Call("GET", f"{h.users_url}/users/{user.sub}", user.id_token),
                Call("PUT", f"{h.users_url}/users/{user.sub}", user.id_token, {"name": "Lost"})]
        for call in down:
            call()
            assert_503(call)
            assert call.ended - call.started < 2.5, f"{call.method} {call.url} took {call.ended - call.started:.1f} s"
    finally:
        local.restart_dynamodb()
    assert scan_all(h) == before, "DynamoDB Local came back with different data"
    back = orders_call(h, "GET", f"/orders/{placed.json()['orderId']}", user.id_token)()
    assert back.status == 200 and back.response.content == placed.response.content
    assert orders_call(h, "POST", "/orders", user.id_token, order_body(str(uuid.uuid4())))().status == 200
    me = Call("GET", f"{h.users_url}/users/{user.sub}", user.id_token)()
    assert me.status == 200 and me.json()["name"] == "Kept"
    assert pids == {app: local.worker_pids(app) for app in ("orders_app", "users_app")}, "a worker was restarted"
    print("\nDynamoDB killed: " + ", ".join(f"{c.method} {c.status} in {c.ended - c.started:.2f} s" for c in down))


# -- the JWKS endpoint unreachable ---------------------------------------------------------------------

def test_jwks_unreachable_warm_caches_keep_verifying(special: Tuple[Stack, StackHandle], h: StackHandle) -> None:
    local, _ = special
    user = h.new_user()
    warm_every_worker(local, h, user)
    pids = {app: local.worker_pids(app) for app in ("orders_app", "users_app")}
    with frozen(local.procs["cognito"].pid):
        calls = [orders_call(h, "GET", "/orders", user.id_token) for _ in range(WORKERS * 3)] + \
                [Call("GET", f"{h.users_url}/users/{user.sub}", user.id_token) for _ in range(WORKERS * 3)]
        fire(calls)
    assert [c.status for c in calls] == [200] * len(calls), [(c.url, c.status) for c in calls]
    assert max(c.ended - c.started for c in calls) < 1.0
    assert pids == {app: local.worker_pids(app) for app in ("orders_app", "users_app")}  # the warm workers


def test_jwks_unreachable_cold_caches_answer_503_quickly(special: Tuple[Stack, StackHandle], h: StackHandle) -> None:
    local, _ = special
    user = h.new_user()
    with frozen(local.procs["cognito"].pid):
        for app in ("orders_app", "users_app"):
            restart_workers(local, app)  # fresh containers: nothing cached
        time.sleep(2.0)  # let the new workers load their apps
        calls = []
        for _ in range(2):  # the first call per worker waits for the JWKS timeout, later ones do not
            batch = [orders_call(h, "GET", "/orders", user.id_token) for _ in range(WORKERS)] + \
                    [Call("GET", f"{h.users_url}/users/{user.sub}", user.id_token) for _ in range(WORKERS)]
            fire(batch)
            calls += batch
    for call in calls:
        assert_503(call, "AuthorizerFailure")
        assert call.ended - call.started < JWKS_TIMEOUT + 1.5 < LOCAL_LAMBDA_TIMEOUT
    print("\nJWKS unreachable, cold caches: " + ", ".join(f"{c.status} in {c.ended - c.started:.2f} s"
                                                         for c in calls))


def test_a_cold_worker_recovers_soon_after_the_jwks_endpoint_returns(special: Tuple[Stack, StackHandle],
                                                                     h: StackHandle) -> None:
    """DEFECT (chalicelib_shared/jwks.py JwksClient.get_jwk_set): after a failed fetch with an empty
    cache, no new fetch is tried for `refetch_interval` (30 s), so a container that started while
    the JWKS endpoint was unreachable keeps failing every request for 30 s after it is back."""
    local, _ = special
    user = h.new_user()
    with frozen(local.procs["cognito"].pid):
        restart_workers(local, "orders_app")
        time.sleep(2.0)
        cold = [orders_call(h, "GET", "/orders", user.id_token) for _ in range(WORKERS)]
        fire(cold)
        assert all(c.status == 503 for c in cold)
    came_back = time.monotonic()
    statuses = []
    try:
        while time.monotonic() - came_back < 5.0:
            batch = [orders_call(h, "GET", "/orders", user.id_token) for _ in range(WORKERS)]
            fire(batch)
            statuses.append([c.status for c in batch])
            if all(c.status == 200 for c in batch):
                break
            time.sleep(0.5)
        assert statuses[-1] == [200] * WORKERS, f"still {statuses[-1]} 5 s after the JWKS endpoint returned"
    finally:
        restart_workers(local, "orders_app")  # leave healthy workers behind
