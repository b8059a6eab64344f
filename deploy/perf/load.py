"""Bounded load run against a LOCAL stack: both APIs, a realistic mix, then an exactly-once audit.

    python -m deploy.perf.load [--outputs .local/outputs.json] [--duration 60] [--clients 20]
                          [--max-requests N] [--seed N] [--json-report FILE]
    python -m deploy.perf.load --check-running      # exit 0 if the outputs file's stack answers (make load)

Every endpoint in the outputs file must be on loopback (this is never pointed at AWS). Each client
is one fresh Cognito user (created in the local emulator) that runs requests one after another:
creates (some retried with the same body, which must replay byte for byte), reads, paginated lists,
edits (half of them echo `status`/`orderTime` as the workshop's client does) and cancels of its own
orders, GET/PUT of its own users record; one extra admin user lists users page by page. Each client
knows the state it was acknowledged, so every unexpected answer is counted.

Afterwards it reads the tables (DynamoDB Local, from the outputs file) and the orders API and checks:
every acknowledged create stored exactly once, nothing stored that was never sent, every
acknowledged cancel CANCELED, every acknowledged edit the final state. It prints throughput,
p50/p95/p99 latency and status counts per route, and exits 1 unless there were 0 lost, 0 duplicated,
0 wrong final states, 0 5xx, 0 transport errors and 0 unexpected answers.
"""
import argparse
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import requests

from deploy.project import LOCAL_STATE, REGION

DEFAULT_OUTPUTS = Path(os.environ.get("LOCAL_STATE_DIR") or LOCAL_STATE) / "outputs.json"  # as `make up`
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
REQUEST_TIMEOUT = 10.0

# route -> weight of the operation that exercises it (a client falls back to a create when the
# operation has nothing to act on, e.g. no PLACED order to cancel yet)
MIX: Dict[str, int] = {
    "create": 18, "create_retry": 5, "get": 18, "list": 10, "edit": 10, "cancel": 8,
    "user_get": 12, "user_put": 8, "admin_list": 6,
}


class LoadError(Exception):
    """A setup problem, reported as one line (exit code 2)."""


def load_outputs(path: Path) -> Dict[str, Any]:
    try:
        outputs = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LoadError(f"{path} not found: start the local stack first (`make up`)") from None
    except ValueError as exc:
        raise LoadError(f"{path} is not JSON: {exc}") from None
    urls = [outputs["users"]["APIEndpoint"], outputs["orders"]["OrdersServiceEndpoint"],
            outputs.get("CognitoEndpointUrl") or "", outputs.get("DynamoDBEndpointUrl") or ""]
    for url in urls:
        host = urllib.parse.urlsplit(url).hostname
        if not url or host not in LOOPBACK:
            raise LoadError(f"{url or 'a missing endpoint'} is not a loopback endpoint: "
                            f"the load driver only runs against the local stack")
    return outputs


def stack_answers(outputs: Dict[str, Any]) -> bool:
    for url in (outputs["users"]["APIEndpoint"], outputs["orders"]["OrdersServiceEndpoint"]):
        try:
            requests.get(url.rstrip("/") + "/", timeout=2)
        except requests.RequestException:
            return False
    return True


def percentile(sorted_values: List[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-pct * len(sorted_values) // 100)))  # ceil(pct/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def jloads(raw: bytes) -> Any:
    return json.loads(raw, parse_float=Decimal)


# -- measurements --------------------------------------------------------------------------------

@dataclass
class RouteStats:
    latencies: List[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    unexpected: int = 0
    transport_errors: int = 0


class Recorder:
    """Thread-safe per-route latencies and outcomes, plus the request budget."""

    def __init__(self, deadline: float, max_requests: int) -> None:
        self.routes: Dict[str, RouteStats] = {}
        self.problems: List[str] = []
        self.deadline = deadline
        self.max_requests = max_requests
        self.count = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Reserve one request of the budget; False when time or requests are used up."""
        with self._lock:
            if time.monotonic() >= self.deadline or (self.max_requests and self.count >= self.max_requests):
                return False
            self.count += 1
            return True

    def record(self, route: str, seconds: float, status: Optional[int], unexpected: Optional[str]) -> None:
        with self._lock:
            stats = self.routes.setdefault(route, RouteStats())
            stats.latencies.append(seconds)
            if status is None:
                stats.transport_errors += 1
                stats.statuses["error"] += 1
            else:
                stats.statuses[status] += 1
            if unexpected:
                stats.unexpected += 1
                if len(self.problems) < 50:
                    self.problems.append(f"{route}: {unexpected}")


class Budget(Exception):
    """The run's time or request budget is used up."""


@dataclass
class OrderState:
    body: Dict[str, Any]                  # the create body sent
    first: Optional[bytes] = None         # the acknowledged create response, byte for byte
    doc: Optional[Dict[str, Any]] = None  # the last acknowledged document
    canceled: bool = False
    uncertain: bool = False               # a write to it had an unknown outcome (5xx, transport error)


@dataclass
class Identity:
    email: str
    sub: str
    token: str


class Client:
    """One user's sequential session."""

    def __init__(self, run: "LoadRun", user: Identity, rng: random.Random) -> None:
        self.run = run
        self.user = user
        self.rng = rng
        self.orders: Dict[str, OrderState] = {}
        self.attempted: set = set()
        self.name: Optional[str] = None
        self.name_uncertain = False

    # -- HTTP ----------------------------------------------------------------------------------
    def call(self, route: str, method: str, url: str, body: Any = None, token: Optional[str] = None,
             expect: int = 200, check: Optional[Callable[[requests.Response], Optional[str]]] = None,
             counted: bool = True) -> Optional[requests.Response]:
        if counted and not self.run.recorder.take():
            raise Budget()
        headers = {"Authorization": token or self.user.token}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        started = time.perf_counter()
        try:
            response = requests.request(method, url, headers=headers, data=data, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            if counted:
                self.run.recorder.record(route, time.perf_counter() - started, None,
                                         f"transport error {type(exc).__name__}")
            return None
        elapsed = time.perf_counter() - started
        problem = None
        if response.status_code != expect:
            problem = f"{response.status_code} (expected {expect}): {response.text[:200]}"
        elif check is not None:
            problem = check(response)
        if counted:
            self.run.recorder.record(route, elapsed, response.status_code, problem)
        return response if problem is None else None

    def orders_url(self, suffix: str = "") -> str:
        return f"{self.run.orders_url}/orders{suffix}"

    def users_url(self, suffix: str = "") -> str:
        return f"{self.run.users_url}/users{suffix}"

    # -- operations ----------------------------------------------------------------------------
    def step(self) -> None:
        op = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        placed = [o for o, s in self.orders.items() if s.doc and not s.canceled and not s.uncertain]
        acked = [o for o, s in self.orders.items() if s.first is not None]
        if op == "create_retry" and acked:
            self.create_retry(self.rng.choice(acked))
        elif op == "get" and acked:
            self.get(self.rng.choice(acked))
        elif op == "list" and acked:
            self.list_orders()
        elif op == "edit" and placed:
            self.edit(self.rng.choice(placed))
        elif op == "cancel" and placed:
            self.cancel(self.rng.choice(placed))
        elif op == "user_get" and self.name is not None:
            self.user_get()
        elif op == "user_put":
            self.user_put()
        elif op == "admin_list":
            self.admin_list()
        else:
            self.create()

    def new_items(self) -> Tuple[List[Dict[str, Any]], float]:
        items: List[Dict[str, Any]] = [{"id": i + 1, "name": f"Dish {self.rng.randint(1, 999)}",
                  "price": round(self.rng.uniform(1, 40), 2), "quantity": self.rng.randint(1, 4)}
                 for i in range(self.rng.randint(1, 4))]
        total = round(sum((Decimal(str(i["price"])) * i["quantity"] for i in items), Decimal(0)) + Decimal("2.50"), 2)
        return items, float(total)

    def create(self) -> None:
        order_id = str(uuid.uuid4())
        items, total = self.new_items()
        body = {"orderId": order_id, "restaurantId": self.rng.randint(1, 50), "orderItems": items,
                "totalAmount": total}
        state = self.orders[order_id] = OrderState(body=body)
        self.attempted.add(order_id)

        def check(r: requests.Response) -> Optional[str]:
            doc = jloads(r.content)
            if doc.get("orderId") != order_id or doc.get("status") != "PLACED" or doc.get("userId") != self.user.sub:
                return f"wrong create answer {r.text[:200]}"
            return None
        response = self.call("POST /orders", "POST", self.orders_url(), body, check=check)
        if response is None:
            state.uncertain = True
            return
        state.first, state.doc = response.content, jloads(response.content)

    def create_retry(self, order_id: str) -> None:
        state = self.orders[order_id]
        self.call("POST /orders (retry)", "POST", self.orders_url(), state.body,
                  check=lambda r: None if r.content == state.first else "replay differs from the first answer")

    def get(self, order_id: str) -> None:
        state = self.orders[order_id]

        def check(r: requests.Response) -> Optional[str]:
            if not state.uncertain and jloads(r.content) != state.doc:
                return f"read {r.text[:160]} differs from the last acknowledged state"
            return None
        self.call("GET /orders/{id}", "GET", self.orders_url(f"/{order_id}"), check=check)

    def list_orders(self) -> None:
        seen: set = set()
        token: Optional[str] = None
        limit = self.rng.choice([2, 5, 10])
        for _ in range(3):
            query = f"?limit={limit}" + (f"&nextToken={urllib.parse.quote(token)}" if token else "")

            def check(r: requests.Response) -> Optional[str]:
                page = jloads(r.content)
                ids = [o.get("orderId") for o in page.get("orders", [])]
                if any(o.get("userId") != self.user.sub for o in page["orders"]):
                    return "another user's order in the list"
                if seen.intersection(ids) or len(ids) > limit:
                    return "a page repeats orders or exceeds the limit"
                if not set(ids) <= self.attempted:
                    return "an order this user never created is listed"
                seen.update(ids)
                return None
            response = self.call("GET /orders", "GET", self.orders_url(query), check=check)
            if response is None:
                return
            token = jloads(response.content).get("nextToken")
            if not token:
                return

    def edit(self, order_id: str) -> None:
        state = self.orders[order_id]
        items, total = self.new_items()
        body: Dict[str, Any] = {"orderItems": items, "totalAmount": total}
        if self.rng.random() < 0.5 and state.doc is not None:  # the workshop's client echoes the server-owned fields
            body.update(status="PLACED", orderTime=state.doc["orderTime"], orderId=order_id,
                        restaurantId=state.doc["restaurantId"])

        def check(r: requests.Response) -> Optional[str]:
            doc = jloads(r.content)
            if doc.get("status") != "PLACED" or doc.get("totalAmount") != Decimal(str(total)):
                return f"wrong edit answer {r.text[:160]}"
            return None
        response = self.call("PUT /orders/{id}", "PUT", self.orders_url(f"/{order_id}"), body, check=check)
        if response is None:
            state.uncertain = True
        else:
            state.doc = jloads(response.content)

    def cancel(self, order_id: str) -> None:
        state = self.orders[order_id]
        response = self.call("DELETE /orders/{id}", "DELETE", self.orders_url(f"/{order_id}"),
                             check=lambda r: None if jloads(r.content).get("status") == "CANCELED"
                             else f"wrong cancel answer {r.text[:160]}")
        if response is None:
            state.uncertain = True
        else:
            state.doc, state.canceled = jloads(response.content), True

    def user_get(self) -> None:
        def check(r: requests.Response) -> Optional[str]:
            user = jloads(r.content)
            if user.get("userid") != self.user.sub or (not self.name_uncertain and user.get("name") != self.name):
                return f"wrong user record {r.text[:160]}"
            return None
        self.call("GET /users/{id}", "GET", self.users_url(f"/{self.user.sub}"), check=check)

    def user_put(self, counted: bool = True) -> None:
        name = f"Load User {self.rng.randint(1, 10 ** 6)}"
        response = self.call("PUT /users/{id}", "PUT", self.users_url(f"/{self.user.sub}"),
                             {"name": name, "email": self.user.email}, counted=counted,
                             check=lambda r: None if jloads(r.content).get("name") == name
                             else f"wrong user answer {r.text[:160]}")
        if response is None:
            self.name_uncertain = True
        else:
            self.name = name

    def admin_list(self) -> None:
        token: Optional[str] = None
        for _ in range(2):
            query = "?limit=25" + (f"&nextToken={urllib.parse.quote(token)}" if token else "")
            response = self.call("GET /users (admin)", "GET", self.users_url(query), token=self.run.admin.token,
                                 check=lambda r: None if isinstance(jloads(r.content), list)
                                 else "the users list is not a JSON array")
            if response is None:
                return
            token = response.headers.get("X-Next-Token")
            if not token:
                return


# -- the run ---------------------------------------------------------------------------------------

@dataclass
class Report:
    routes: Dict[str, RouteStats]
    elapsed: float
    clients: int
    acknowledged_creates: int = 0
    acknowledged_cancels: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_state: int = 0
    audit_problems: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(s.latencies) for s in self.routes.values())

    @property
    def five_xx(self) -> int:
        return sum(n for s in self.routes.values() for code, n in s.statuses.items()
                   if isinstance(code, int) and code >= 500)

    @property
    def transport_errors(self) -> int:
        return sum(s.transport_errors for s in self.routes.values())

    @property
    def unexpected(self) -> int:
        return sum(s.unexpected for s in self.routes.values())

    @property
    def passed(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong_state or self.five_xx or self.transport_errors
                    or self.unexpected) and self.total > 0

    def latency(self, pct: float, route: Optional[str] = None) -> float:
        values = sorted(v for name, s in self.routes.items() if route in (None, name) for v in s.latencies)
        return percentile(values, pct)

    def render(self) -> str:
        lines = [f"{'route':<22}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
                 f"{'max ms':>9}  statuses"]
        for name in sorted(self.routes):
            s = self.routes[name]
            lat = sorted(s.latencies)
            statuses = " ".join(f"{k}:{v}" for k, v in sorted(s.statuses.items(), key=lambda kv: str(kv[0])))
            lines.append(f"{name:<22}{len(lat):>9}{len(lat) / self.elapsed:>8.1f}{percentile(lat, 50) * 1e3:>9.1f}"
                         f"{percentile(lat, 95) * 1e3:>9.1f}{percentile(lat, 99) * 1e3:>9.1f}"
                         f"{(lat[-1] if lat else 0) * 1e3:>9.1f}  {statuses}"
                         + (f"  UNEXPECTED:{s.unexpected}" if s.unexpected else ""))
        lines.append(f"{'all':<22}{self.total:>9}{self.total / self.elapsed:>8.1f}{self.latency(50) * 1e3:>9.1f}"
                     f"{self.latency(95) * 1e3:>9.1f}{self.latency(99) * 1e3:>9.1f}")
        lines.append(f"{self.clients} clients, {self.elapsed:.1f} s, {self.total} requests "
                     f"({self.total / self.elapsed:.1f} req/s); 5xx {self.five_xx}, transport errors "
                     f"{self.transport_errors}, unexpected answers {self.unexpected}")
        lines.append(f"audit: {self.acknowledged_creates} acknowledged creates, {self.acknowledged_cancels} "
                     f"acknowledged cancels; lost {self.lost}, duplicated {self.duplicated}, "
                     f"wrong final state {self.wrong_state}")
        for problem in (self.problems + self.audit_problems)[:20]:
            lines.append(f"  problem: {problem}")
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "requests": self.total, "elapsed_s": round(self.elapsed, 2), "clients": self.clients,
            "throughput_rps": round(self.total / self.elapsed, 1),
            "p50_ms": round(self.latency(50) * 1e3, 1), "p95_ms": round(self.latency(95) * 1e3, 1),
            "p99_ms": round(self.latency(99) * 1e3, 1), "five_xx": self.five_xx,
            "transport_errors": self.transport_errors, "unexpected": self.unexpected,
            "acknowledged_creates": self.acknowledged_creates, "acknowledged_cancels": self.acknowledged_cancels,
            "lost": self.lost, "duplicated": self.duplicated, "wrong_state": self.wrong_state,
            "passed": self.passed,
            "routes": {name: {"requests": len(s.latencies), "statuses": {str(k): v for k, v in s.statuses.items()},
                              "p50_ms": round(percentile(sorted(s.latencies), 50) * 1e3, 1),
                              "p95_ms": round(percentile(sorted(s.latencies), 95) * 1e3, 1),
                              "p99_ms": round(percentile(sorted(s.latencies), 99) * 1e3, 1)}
                       for name, s in self.routes.items()},
        }


class LoadRun:
    def __init__(self, outputs: Dict[str, Any], clients: int = 20, duration: float = 60.0,
                 max_requests: int = 0, seed: Optional[int] = None) -> None:
        if clients < 1 or duration <= 0 or max_requests < 0:
            raise LoadError("--clients must be >= 1, --duration > 0 and --max-requests >= 0")
        self.outputs = outputs
        self.users_url = outputs["users"]["APIEndpoint"].rstrip("/")
        self.orders_url = outputs["orders"]["OrdersServiceEndpoint"].rstrip("/")
        self.clients_count = clients
        self.duration = duration
        self.max_requests = max_requests
        self.seed = seed if seed is not None else random.randrange(2 ** 32)
        self.recorder = Recorder(0.0, max_requests)
        self.admin: Identity
        self.clients: List[Client] = []

    # -- setup ---------------------------------------------------------------------------------
    def _users(self) -> Tuple[Identity, List[Identity]]:
        from deploy.local import cognito
        idp = cognito.idp_client(self.outputs["CognitoEndpointUrl"])
        pool, client_id = self.outputs["users"]["UserPool"], self.outputs["users"]["UserPoolClient"]
        group = self.outputs["users"].get("UserPoolAdminGroupName") or "apiAdmins"
        run_id = uuid.uuid4().hex[:10]

        def make(name: str, groups: List[str]) -> Identity:
            email, password = f"load-{run_id}-{name}@example.com", f"Load-{uuid.uuid4().hex[:12]}Aa1"
            sub = cognito.ensure_user(idp, pool, email, password, groups)
            return Identity(email, sub, cognito.login(idp, client_id, email, password)["IdToken"])
        try:
            return make("admin", [group]), [make(str(i), []) for i in range(self.clients_count)]
        except Exception as exc:  # noqa: BLE001 - one line
            raise LoadError(f"creating the load users in the local Cognito failed: {type(exc).__name__}: {exc}") \
                from None

    def run(self) -> Report:
        self.admin, users = self._users()
        master = random.Random(self.seed)
        self.clients = [Client(self, user, random.Random(master.random())) for user in users]
        for client in self.clients:  # self-registration of each user's record (not measured)
            client.user_put(counted=False)
            if client.name is None:
                raise LoadError(f"PUT /users/{client.user.sub} failed during setup: is the users API healthy?")
        started = time.monotonic()
        self.recorder.deadline = started + self.duration
        threads = [threading.Thread(target=self._loop, args=(c,), daemon=True) for c in self.clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report = Report(self.recorder.routes, max(time.monotonic() - started, 1e-6), self.clients_count,
                        problems=self.recorder.problems)
        self.audit(report)
        return report

    def _loop(self, client: Client) -> None:
        try:
            while True:
                client.step()
        except Budget:
            return

    # -- the audit -----------------------------------------------------------------------------
    def _stored(self, user_id: str) -> Dict[str, List[Dict[str, Any]]]:
        """orderId -> stored documents of the user (DynamoDB Local, strongly consistent)."""
        import boto3
        from boto3.dynamodb.types import TypeDeserializer

        from deploy.local.cognito import FAKE_CREDENTIALS
        ddb = boto3.client("dynamodb", endpoint_url=self.outputs["DynamoDBEndpointUrl"],
                           region_name=self.outputs.get("Region") or REGION,
                           aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        deserialize = TypeDeserializer().deserialize
        found: Dict[str, List[Dict[str, Any]]] = {}
        kwargs: Dict[str, Any] = {"TableName": self.outputs["orders"]["OrdersTable"],
                                  "KeyConditionExpression": "userId = :u", "ConsistentRead": True,
                                  "ExpressionAttributeValues": {":u": {"S": user_id}}}
        while True:
            page = ddb.query(**kwargs)
            for item in page["Items"]:
                found.setdefault(item["orderId"]["S"], []).append(deserialize(item["data"]))
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _listed(self, client: Client) -> Optional[List[str]]:
        """Every orderId the orders API lists for the client (all pages), None if a page failed."""
        ids: List[str] = []
        token: Optional[str] = None
        while True:
            query = "?limit=100" + (f"&nextToken={urllib.parse.quote(token)}" if token else "")
            response = client.call("audit", "GET", client.orders_url(query), counted=False)
            if response is None:
                return None
            page = jloads(response.content)
            ids += [o["orderId"] for o in page["orders"]]
            token = page.get("nextToken")
            if not token:
                return ids

    def audit(self, report: Report) -> None:
        def problem(text: str) -> None:
            if len(report.audit_problems) < 50:
                report.audit_problems.append(text)

        for client in self.clients:
            stored = self._stored(client.user.sub)
            listed = self._listed(client)
            if listed is None or len(listed) != len(set(listed)) or set(listed) != set(stored):
                report.duplicated += 1
                problem(f"user {client.user.sub}: the API lists {listed and len(listed)} orders, "
                        f"the table holds {len(stored)}")
            for order_id in stored:
                if order_id not in client.attempted:
                    report.duplicated += 1
                    problem(f"order {order_id} is stored but was never sent")
            for order_id, state in client.orders.items():
                docs = stored.get(order_id, [])
                if state.first is None:
                    if len(docs) > 1:
                        report.duplicated += 1
                        problem(f"order {order_id} (unacknowledged) stored {len(docs)} times")
                    continue
                report.acknowledged_creates += 1
                report.acknowledged_cancels += state.canceled
                if not docs:
                    report.lost += 1
                    problem(f"acknowledged order {order_id} is not stored")
                    continue
                if len(docs) > 1:
                    report.duplicated += 1
                    problem(f"order {order_id} stored {len(docs)} times")
                doc = docs[0]
                if state.canceled and doc.get("status") != "CANCELED":
                    report.wrong_state += 1
                    problem(f"order {order_id} was acknowledged CANCELED but is {doc.get('status')}")
                elif not state.uncertain and doc != state.doc:
                    report.wrong_state += 1
                    problem(f"order {order_id}: stored {doc} differs from the last acknowledged {state.doc}")


def run(outputs: Dict[str, Any], clients: int = 20, duration: float = 60.0, max_requests: int = 0,
        seed: Optional[int] = None) -> Report:
    """Run a load against the stack described by `outputs` (must be loopback) and audit it."""
    return LoadRun(outputs, clients, duration, max_requests, seed).run()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Bounded load run against the local stack, with an audit.")
    parser.add_argument("--outputs", type=Path, default=DEFAULT_OUTPUTS, help="outputs.json of a local stack")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (0: no limit)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed; reuse to repeat a mix)")
    parser.add_argument("--json-report", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--check-running", action="store_true",
                        help="only check that the outputs file's stack answers (exit 0) or not (exit 1)")
    args = parser.parse_args(argv)
    try:
        if args.check_running:
            try:
                return 0 if stack_answers(load_outputs(args.outputs)) else 1
            except LoadError:
                return 1
        outputs = load_outputs(args.outputs)
        load = LoadRun(outputs, args.clients, args.duration, args.max_requests, args.seed)
        print(f"load: {args.clients} clients for up to {args.duration:g} s"
              + (f" or {args.max_requests} requests" if args.max_requests else "")
              + f" against {load.users_url} and {load.orders_url} (seed {load.seed})", flush=True)
        report = load.run()
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    if args.json_report:
        args.json_report.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
