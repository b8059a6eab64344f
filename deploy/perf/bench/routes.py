"""2. The warm request path: each route's case as data, and how a case is measured.

A case is a route's name, the API Gateway event of call i, the raw boto3 calls the route needs
(made directly: the floor the route is compared with) and, for routes that consume what they act
on, a preparation that seeds it. The runner times both sides in the same warm process (after a
warm-up), counts DynamoDB round trips with a `before-send.dynamodb` hook and clients created with
`creating-client-class` (Counters), and checks every answer. Runs inside the warm child: standard
library only (boto3 comes from the Lambda-like sys.path).
"""
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from deploy.perf.bench.fixtures import (
    ADMIN_SUB,
    BENCH_TABLES,
    SEED_ORDER,
    SEED_SUB,
    BenchError,
    FakeLambdaContext,
    api_event,
    cognito_authorizer_context,
    order_item,
    user_item,
    users_authorizer_context,
    utc_now,
)

WARMUP = 3


@dataclass(frozen=True)
class Run:
    """What a case's functions act with, for one app in one warm child."""

    raw: Any                 # the raw side's boto3 DynamoDB client
    tag: str                 # from the child's PID: the ids this run creates are its own
    now: str                 # the timestamp of the items it writes
    owner: Dict[str, Any]    # the authorizer context of the seeded user
    admin: Dict[str, Any]    # ... and of an admin


@dataclass(frozen=True)
class RouteCase:
    key: str                                     # its name in the results (and in report.ROUTE_TARGETS)
    label: str                                   # how errors name it
    event: Callable[[Run, int], Dict[str, Any]]  # call i's API Gateway event
    raw: Callable[[Run, int], Any]               # call i's raw boto3 calls
    prepare: Optional[Callable[[Run, int], None]] = None  # seed what calls 0..count-1 act on
    raw_check: Callable[[Any], bool] = lambda result: True


# -- users ----------------------------------------------------------------------------------------
USERS_TABLE = BENCH_TABLES["UsersTable"]
USER_KEY = {"userid": {"S": SEED_SUB}}
USER_BODY = {"name": "Bench User", "email": "bench@example.com"}


def _create_user(run: Run, i: int) -> Any:
    return run.raw.put_item(TableName=USERS_TABLE, Item=user_item(f"r-{run.tag}-{i}", run.now),
                            ConditionExpression="attribute_not_exists(userid)",
                            ReturnValuesOnConditionCheckFailure="ALL_OLD")


def _put_user(run: Run, i: int) -> Any:
    return run.raw.update_item(
        TableName=USERS_TABLE, Key=USER_KEY, ReturnValues="ALL_NEW", ExpressionAttributeNames={"#n": "name"},
        UpdateExpression="SET #n = :n, email = :e, updatedAt = :t, createdAt = if_not_exists(createdAt, :t)",
        ExpressionAttributeValues={":n": {"S": "Bench User"}, ":e": {"S": "bench@example.com"}, ":t": {"S": run.now}})


def _seed_user_deletes(run: Run, count: int) -> None:
    for i in range(count):
        for prefix in ("d", "rd"):
            run.raw.put_item(TableName=USERS_TABLE, Item=user_item(f"{prefix}-{run.tag}-{i}", run.now))


USERS_ROUTES: Tuple[RouteCase, ...] = (
    RouteCase("get", "GET /users/{id}",
              lambda run, i: api_event("GET", "/users/{userid}", {"userid": SEED_SUB}, run.owner),
              lambda run, i: run.raw.get_item(TableName=USERS_TABLE, Key=USER_KEY)),
    RouteCase("create", "POST /users",
              lambda run, i: api_event("POST", "/users", None, run.admin,
                                       body={**USER_BODY, "userid": f"c-{run.tag}-{i}"}),
              _create_user),
    RouteCase("put", "PUT /users/{id}",
              lambda run, i: api_event("PUT", "/users/{userid}", {"userid": SEED_SUB}, run.owner, body=USER_BODY),
              _put_user),
    RouteCase("delete", "DELETE /users/{id}",
              lambda run, i: api_event("DELETE", "/users/{userid}", {"userid": f"d-{run.tag}-{i}"}, run.admin),
              lambda run, i: run.raw.delete_item(TableName=USERS_TABLE, Key={"userid": {"S": f"rd-{run.tag}-{i}"}},
                                                 ConditionExpression="attribute_exists(userid)"),
              prepare=_seed_user_deletes),
    RouteCase("list", "GET /users",
              lambda run, i: api_event("GET", "/users", None, run.admin, query={"limit": "20"}),
              lambda run, i: run.raw.scan(TableName=USERS_TABLE, Limit=20)),
)


# -- orders ---------------------------------------------------------------------------------------
ORDERS_TABLE, IDEMPOTENCY_TABLE = BENCH_TABLES["OrdersTable"], BENCH_TABLES["IdempotencyTable"]
ORDER_KEY = {"userId": {"S": SEED_SUB}, "orderId": {"S": SEED_ORDER}}
ORDER_ITEMS = [{"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 2}]
ORDER_EDIT = {"totalAmount": 17.5, "status": "PLACED"}


def _new_order(order_id: str) -> Dict[str, Any]:
    return {"orderId": order_id, "restaurantId": 1, "orderItems": ORDER_ITEMS, "totalAmount": 19.98}


def _create_order(run: Run, i: int) -> Any:
    """A first create's calls: claim the idempotency record, store the order, complete the record."""
    ident = {"S": f"orders.create#raw-{run.tag}-{i}"}
    run.raw.put_item(TableName=IDEMPOTENCY_TABLE, Item={"id": ident, "status": {"S": "INPROGRESS"},
                                                        "expiration": {"N": str(int(time.time()) + 3600)}},
                     ConditionExpression="attribute_not_exists(id)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    run.raw.put_item(TableName=ORDERS_TABLE, Item=order_item(SEED_SUB, f"raw-{run.tag}-{i}", run.now),
                     ConditionExpression="attribute_not_exists(orderId)",
                     ReturnValuesOnConditionCheckFailure="ALL_OLD")
    return run.raw.update_item(TableName=IDEMPOTENCY_TABLE, Key={"id": ident},
                               UpdateExpression="SET #s = :s, #d = :d",
                               ExpressionAttributeNames={"#s": "status", "#d": "data"},
                               ExpressionAttributeValues={":s": {"S": "COMPLETED"}, ":d": {"S": "{}"}})


def _replay_order(run: Run, i: int) -> Any:
    """A replay's call: the idempotency claim fails, its error carries the record (None if it did not fail)."""
    try:
        run.raw.put_item(TableName=IDEMPOTENCY_TABLE, Item={"id": {"S": f"orders.create#raw-{run.tag}-0"}},
                         ConditionExpression="attribute_not_exists(id)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except run.raw.exceptions.ConditionalCheckFailedException as exc:
        return exc.response
    return None


def _list_orders(run: Run, i: int) -> Any:
    return run.raw.query(TableName=ORDERS_TABLE, KeyConditionExpression="userId = :u",
                         ExpressionAttributeValues={":u": {"S": SEED_SUB}},
                         ProjectionExpression="orderId, #d", ExpressionAttributeNames={"#d": "data"}, Limit=21)


def _set_status(run: Run, order_id: str, status: str, expect: str = "PLACED") -> Any:
    return run.raw.update_item(
        TableName=ORDERS_TABLE, Key={"userId": {"S": SEED_SUB}, "orderId": {"S": order_id}},
        UpdateExpression="SET #d.#s = :s, #d.#u = :t",
        ConditionExpression="attribute_exists(orderId) AND #d.#s = :e",
        ExpressionAttributeNames={"#d": "data", "#s": "status", "#u": "updatedAt"},
        ExpressionAttributeValues={":s": {"S": status}, ":t": {"S": run.now}, ":e": {"S": expect}},
        ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")


def _seed_placed(prefix: str) -> Callable[[Run, int], None]:
    """PLACED orders `prefix-TAG-i` for the route and `rprefix-TAG-i` for the raw side."""
    def seed(run: Run, count: int) -> None:
        now = utc_now()
        for i in range(count):
            for p in (prefix, "r" + prefix):
                run.raw.put_item(TableName=ORDERS_TABLE, Item=order_item(SEED_SUB, f"{p}-{run.tag}-{i}", now))
    return seed


ORDERS_ROUTES: Tuple[RouteCase, ...] = (
    RouteCase("create", "POST /orders (first)",
              lambda run, i: api_event("POST", "/orders", None, run.owner, body=_new_order(f"c-{run.tag}-{i}")),
              _create_order),
    RouteCase("replay", "POST /orders (replay)",  # the order `create` placed first, posted again
              lambda run, i: api_event("POST", "/orders", None, run.owner, body=_new_order(f"c-{run.tag}-0")),
              _replay_order, raw_check=lambda result: result is not None),
    RouteCase("get", "GET /orders/{id}",
              lambda run, i: api_event("GET", "/orders/{orderId}", {"orderId": SEED_ORDER}, run.owner),
              lambda run, i: run.raw.get_item(TableName=ORDERS_TABLE, Key=ORDER_KEY, ProjectionExpression="#d",
                                              ExpressionAttributeNames={"#d": "data"})),
    RouteCase("list", "GET /orders",
              lambda run, i: api_event("GET", "/orders", None, run.owner, query={"limit": "20"}),
              _list_orders),
    RouteCase("edit", "PUT /orders/{id}",
              lambda run, i: api_event("PUT", "/orders/{orderId}", {"orderId": SEED_ORDER}, run.owner,
                                       body=ORDER_EDIT),
              lambda run, i: _set_status(run, SEED_ORDER, "PLACED")),
    RouteCase("cancel", "DELETE /orders/{id}",
              lambda run, i: api_event("DELETE", "/orders/{orderId}", {"orderId": f"x-{run.tag}-{i}"}, run.owner),
              lambda run, i: _set_status(run, f"rx-{run.tag}-{i}", "CANCELED"), prepare=_seed_placed("x")),
    RouteCase("acknowledge", "POST /orders/{id}/acknowledge",
              lambda run, i: api_event("POST", "/orders/{orderId}/acknowledge", {"orderId": f"k-{run.tag}-{i}"},
                                       run.admin, body={"userId": SEED_SUB}),
              lambda run, i: _set_status(run, f"rk-{run.tag}-{i}", "ACKNOWLEDGED"), prepare=_seed_placed("k")),
)


def cases_for(app: str, raw: Any) -> Tuple[Tuple[RouteCase, ...], Run]:
    """The app's cases, in the order they run (replay needs create's first order), and their Run.
    The users API sees its TOKEN authorizer's context; orders, API Gateway's Cognito claims."""
    pid = os.getpid()
    if app == "users":
        return USERS_ROUTES, Run(raw, f"{pid}", utc_now(), users_authorizer_context(SEED_SUB, False),
                                 users_authorizer_context(ADMIN_SUB, True))
    return ORDERS_ROUTES, Run(raw, f"{pid:x}", utc_now(), cognito_authorizer_context(SEED_SUB, False),
                              cognito_authorizer_context(ADMIN_SUB, True))


# -- measuring ------------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def _stats_ms(ns: List[int]) -> Dict[str, float]:
    ms = [v / 1e6 for v in ns]
    return {"p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3), "n": len(ms)}


class Counters:
    """DynamoDB requests sent and clients created, counted by hooks on boto3's default session."""

    def __init__(self) -> None:
        self.sends = 0
        self.clients = 0

    def on_send(self, **kwargs: Any) -> None:
        self.sends += 1

    def on_client(self, **kwargs: Any) -> None:
        self.clients += 1


def _timed(call: Callable[[int], Any], iterations: int, counters: Counters,
           check: Callable[[Any], bool], label: str) -> Dict[str, Any]:
    times: List[int] = []
    trips: List[int] = []
    clients_before = counters.clients
    for i in range(iterations):
        sends = counters.sends
        started = time.perf_counter_ns()
        result = call(i)
        times.append(time.perf_counter_ns() - started)
        trips.append(counters.sends - sends)
        if not check(result):
            raise BenchError(f"{label}: unexpected result {str(result)[:500]}")
    return {**_stats_ms(times), "round_trips_min": min(trips), "round_trips_max": max(trips),
            "clients_created": counters.clients - clients_before}


def _answered_200(result: Any) -> bool:
    return isinstance(result, dict) and result.get("statusCode") == 200


class Runner:
    """Measures an app's cases through `module.app(event, context)`, as Lambda invokes it."""

    def __init__(self, module: Any, run: Run, counters: Counters, iterations: int) -> None:
        self.module, self.run, self.counters, self.n = module, run, counters, iterations
        self._request = 0

    def invoke(self, event: Dict[str, Any]) -> Any:
        self._request += 1
        rid = f"bench-{self._request}"
        event["requestContext"]["requestId"] = rid
        return self.module.app(event, FakeLambdaContext(os.environ["AWS_LAMBDA_FUNCTION_NAME"], rid))

    def measure(self, case: RouteCase) -> Dict[str, Any]:
        def app_call(i: int) -> Any:
            return self.invoke(case.event(self.run, i))

        def raw_call(i: int) -> Any:
            return case.raw(self.run, i)

        if case.prepare:
            case.prepare(self.run, self.n + WARMUP)
        for i in range(WARMUP):  # warm both paths (connection pool, caches)
            app_call(self.n + i)
            raw_call(self.n + i)
        return {"app": _timed(app_call, self.n, self.counters, _answered_200, f"{case.label} (app)"),
                "raw": _timed(raw_call, self.n, self.counters, case.raw_check, f"{case.label} (raw)")}

    def measure_all(self, cases: Tuple[RouteCase, ...]) -> Dict[str, Any]:
        return {case.key: self.measure(case) for case in cases}
