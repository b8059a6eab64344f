"""The orders API over HTTP against the local stack (DynamoDB Local, moto Cognito, the strict
multi-worker gateway) with real tokens: the workshop's eight orders scenarios, the ownership
matrix, byte-identical replays, concurrent duplicate creates, and DynamoDB round trips per
operation. (The repository contract on DynamoDB Local is in tests/contract/test_orders_repository.py.)"""
import json
import uuid
from typing import Any, Callable, Dict, List

import pytest
import requests

from tests.support.apps import app_module, load_app
from tests.support.concurrent import Call, fire
from tests.support.http import TIMEOUT, assert_error, call
from tests.support.idempotency import idempotency_key
from tests.support.lambda_context import FakeLambdaContext
from tests.support.orders import order_body
from tests.support.stack import StackHandle, User
from tests.support.storage import stored_items

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def owner(stack: StackHandle) -> User:
    return stack.new_user()


@pytest.fixture(scope="module")
def other(stack: StackHandle) -> User:
    return stack.new_user()


@pytest.fixture(scope="module")
def admin(stack: StackHandle) -> User:
    return stack.new_user(admin=True)


# -- the workshop's eight orders scenarios --------------------------------------------------

def test_workshop_1_no_token_is_401(stack: StackHandle) -> None:
    assert_error(call(stack.orders_url, "POST", "/orders", order_body(str(uuid.uuid4()))), 401)
    assert_error(call(stack.orders_url, "GET", "/orders"), 401)


def test_workshop_2_to_8(stack: StackHandle, owner: User) -> None:
    order = order_body(str(uuid.uuid4()))
    oid = order["orderId"]
    created = call(stack.orders_url, "POST", "/orders", order, who=owner)
    assert created.status_code == 200, created.text
    doc = created.json()
    assert doc["orderId"] == oid and doc["status"] == "PLACED" and doc["orderTime"].endswith("Z")
    assert doc["userId"] == owner.sub and doc["totalAmount"] == 19.97

    got = call(stack.orders_url, "GET", f"/orders/{oid}", who=owner)
    assert got.status_code == 200 and got.json() == doc
    assert set(got.json()) == {"orderId", "userId", "restaurantId", "totalAmount", "orderItems", "status",
                               "orderTime"}

    listed = call(stack.orders_url, "GET", "/orders", who=owner)
    assert listed.status_code == 200 and oid in [o["orderId"] for o in listed.json()["orders"]]

    # the workshop's client sends status and orderTime back unchanged, and a total that is not the sum
    edited_body = {**doc, "orderItems": doc["orderItems"] + [{"id": 3, "name": "Salad", "price": 6.5,
                                                              "quantity": 1}], "totalAmount": 30}
    edited = call(stack.orders_url, "PUT", f"/orders/{oid}", edited_body, who=owner)
    assert edited.status_code == 200, edited.text
    assert edited.json()["totalAmount"] == 30 and len(edited.json()["orderItems"]) == 3
    assert edited.json()["orderTime"] == doc["orderTime"] and edited.json()["status"] == "PLACED"

    canceled = call(stack.orders_url, "DELETE", f"/orders/{oid}", who=owner)
    assert canceled.status_code == 200 and canceled.json()["status"] == "CANCELED"
    assert_error(call(stack.orders_url, "DELETE", f"/orders/{oid}", who=owner), 400, "OrderNotPlaced")

    again = order_body(str(uuid.uuid4()))
    first = call(stack.orders_url, "POST", "/orders", again, who=owner)
    for _ in range(2):
        repeat = call(stack.orders_url, "POST", "/orders", again, who=owner)
        assert repeat.status_code == 200 and repeat.json()["orderId"] == again["orderId"]
        assert repeat.content == first.content
    assert len(stored_items(stack, owner.sub, again["orderId"])) == 1


# -- storage format ------------------------------------------------------------------------

def test_stored_as_the_workshop_stores_it(stack: StackHandle, owner: User) -> None:
    order = order_body(str(uuid.uuid4()))
    doc = call(stack.orders_url, "POST", "/orders", order, who=owner).json()
    [item] = stored_items(stack, owner.sub, order["orderId"])
    assert set(item) == {"userId", "orderId", "data", "requestHash"}
    assert item["data"]["M"]["status"] == {"S": "PLACED"}
    assert item["data"]["M"]["totalAmount"] == {"N": "19.97"}
    assert item["data"]["M"]["orderTime"] == {"S": doc["orderTime"]}


def test_a_workshop_item_reads_and_an_old_one_cannot_be_canceled(stack: StackHandle, owner: User) -> None:
    oid = str(uuid.uuid4())
    data = {"orderId": {"S": oid}, "userId": {"S": owner.sub}, "restaurantId": {"N": "1"},
            "totalAmount": {"N": "10"}, "status": {"S": "PLACED"}, "orderTime": {"S": "2020-01-01T00:00:00Z"},
            "orderItems": {"L": [{"M": {"id": {"N": "1"}, "name": {"S": "x"}, "price": {"N": "10"},
                                        "quantity": {"N": "1"}}}]}}
    stack.ddb.put_item(TableName=stack.table("OrdersTable"),
                       Item={"userId": {"S": owner.sub}, "orderId": {"S": oid}, "data": {"M": data}})
    got = call(stack.orders_url, "GET", f"/orders/{oid}", who=owner)
    assert got.status_code == 200 and got.json()["orderTime"] == "2020-01-01T00:00:00Z"
    assert_error(call(stack.orders_url, "DELETE", f"/orders/{oid}", who=owner), 400, "CancelWindowExpired")
    # no requestHash: a create reusing the id can never be proven the same request
    assert_error(call(stack.orders_url, "POST", "/orders", order_body(oid), who=owner), 409)
    assert stored_items(stack, owner.sub, oid)[0]["data"]["M"] == data


# -- ownership matrix -----------------------------------------------------------------------

def test_every_route_for_owner_other_admin_and_anonymous(stack: StackHandle, owner: User, other: User,
                                                         admin: User) -> None:
    order = order_body(str(uuid.uuid4()))
    oid = order["orderId"]
    path = f"/orders/{oid}"
    for who in (None,):
        assert_error(call(stack.orders_url, "POST", "/orders", order, who=who), 401)
    doc = call(stack.orders_url, "POST", "/orders", order, who=owner).json()

    # reads
    assert_error(call(stack.orders_url, "GET", path), 401)
    assert_error(call(stack.orders_url, "GET", path, who=other), 404, "OrderNotFound")
    assert_error(call(stack.orders_url, "GET", path, who=admin), 404, "OrderNotFound")  # admins only acknowledge
    assert call(stack.orders_url, "GET", path, who=owner).json() == doc
    assert oid not in [o["orderId"] for o in call(stack.orders_url, "GET", "/orders", who=other).json()["orders"]]
    assert_error(call(stack.orders_url, "GET", "/orders"), 401)

    # edit
    for who, status in ((None, 401), (other, 404), (admin, 404)):
        assert_error(call(stack.orders_url, "PUT", path, {"totalAmount": 1}, who=who), status)
    assert call(stack.orders_url, "PUT", path, {"totalAmount": 21}, who=owner).json()["totalAmount"] == 21

    # acknowledge
    ack = f"{path}/acknowledge"
    assert_error(call(stack.orders_url, "POST", ack, {"userId": owner.sub}), 401)
    assert_error(call(stack.orders_url, "POST", ack, {"userId": owner.sub}, who=owner), 403)
    assert_error(call(stack.orders_url, "POST", ack, {"userId": owner.sub}, who=other), 403)
    assert_error(call(stack.orders_url, "POST", ack, {"userId": other.sub}, who=admin), 404)

    # cancel
    assert_error(call(stack.orders_url, "DELETE", path), 401)
    assert_error(call(stack.orders_url, "DELETE", path, who=other), 404)
    assert_error(call(stack.orders_url, "DELETE", path, who=admin), 404)

    # lifecycle: PLACED -> ACKNOWLEDGED, after which nothing changes it
    acked = call(stack.orders_url, "POST", ack, {"userId": owner.sub}, who=admin)
    assert acked.status_code == 200 and acked.json()["status"] == "ACKNOWLEDGED"
    assert_error(call(stack.orders_url, "POST", ack, {"userId": owner.sub}, who=admin), 400, "OrderNotPlaced")
    assert_error(call(stack.orders_url, "DELETE", path, who=owner), 400, "OrderNotPlaced")
    assert_error(call(stack.orders_url, "PUT", path, {"totalAmount": 1}, who=owner), 400, "OrderNotPlaced")


def test_same_order_id_for_two_users_gives_two_orders(stack: StackHandle, owner: User, other: User) -> None:
    order = order_body(str(uuid.uuid4()))
    a = call(stack.orders_url, "POST", "/orders", order, who=owner)
    b = call(stack.orders_url, "POST", "/orders", {**order, "totalAmount": 5}, who=other)
    assert a.status_code == b.status_code == 200
    assert (a.json()["userId"], b.json()["userId"]) == (owner.sub, other.sub)
    assert b.json()["totalAmount"] == 5


def test_put_cannot_change_server_owned_fields(stack: StackHandle, owner: User) -> None:
    order = order_body(str(uuid.uuid4()))
    doc = call(stack.orders_url, "POST", "/orders", order, who=owner).json()
    path = f"/orders/{order['orderId']}"
    for change, code in (({"status": "CANCELED"}, "StatusChanged"),
                         ({"orderTime": "2099-01-01T00:00:00Z"}, "OrderTimeChanged"),
                         ({"userId": "someone"}, "UserIdChanged")):
        assert_error(call(stack.orders_url, "PUT", path, {**doc, **change}, who=owner), 400, code)
    assert call(stack.orders_url, "GET", path, who=owner).json() == doc


def test_list_pagination_and_foreign_token(stack: StackHandle, other: User) -> None:
    user = other
    for _ in range(3):
        call(stack.orders_url, "POST", "/orders", order_body(str(uuid.uuid4())), who=user)
    seen: List[str] = []
    token = None
    while True:
        query = "?limit=2" + (f"&nextToken={token}" if token else "")
        page = call(stack.orders_url, "GET", "/orders" + query, who=user)
        assert page.status_code == 200
        seen += [o["orderId"] for o in page.json()["orders"]]
        token = page.json().get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 3
    first = call(stack.orders_url, "GET", "/orders?limit=1", who=user).json()["nextToken"]
    stranger = stack.new_user()
    assert_error(call(stack.orders_url, "GET", f"/orders?nextToken={first}", who=stranger), 400, "InvalidNextToken")
    assert_error(call(stack.orders_url, "GET", "/orders?limit=101", who=user), 400)


# -- idempotency ------------------------------------------------------------------------------

def test_replay_is_byte_identical(stack: StackHandle, owner: User) -> None:
    order = order_body(str(uuid.uuid4()))
    first = call(stack.orders_url, "POST", "/orders", order, who=owner)
    replay = call(stack.orders_url, "POST", "/orders", {**order, "status": "PLACED"}, who=owner)
    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    assert b'"totalAmount":19.97' in replay.content  # a number, not "19.97"


def test_reused_order_id_with_other_body_is_409(stack: StackHandle, owner: User) -> None:
    order = order_body(str(uuid.uuid4()))
    call(stack.orders_url, "POST", "/orders", order, who=owner)
    assert_error(call(stack.orders_url, "POST", "/orders", {**order, "totalAmount": 1}, who=owner), 409,
                 "IdempotencyKeyReused")


def test_after_the_idempotency_record_is_gone(stack: StackHandle, owner: User) -> None:
    order = order_body(str(uuid.uuid4()))
    first = call(stack.orders_url, "POST", "/orders", order, who=owner)
    deleted = stack.ddb.delete_item(TableName=stack.table("IdempotencyTable"),
                                    Key={"id": {"S": idempotency_key(owner.sub, order["orderId"])}},
                                    ReturnValues="ALL_OLD")
    assert "Attributes" in deleted  # the record really existed under the (user, order) key
    assert_error(call(stack.orders_url, "POST", "/orders", {**order, "totalAmount": 2}, who=owner), 409)
    retry = call(stack.orders_url, "POST", "/orders", order, who=owner)
    assert retry.status_code == 200 and retry.content == first.content
    assert stored_items(stack, owner.sub, order["orderId"])[0]["data"]["M"]["totalAmount"] == {"N": "19.97"}


def metric_lines(stack: Any, name: str) -> int:
    """EMF lines (one per flushed request) that carry metric `name`."""
    return sum(1 for line in stack.server_output("orders_app").splitlines()
               if line.startswith('{"_aws"') and f'"{name}":' in line)


def _fire(stack: Any, user: Any, body: Dict[str, Any], count: int) -> List[Any]:
    """`count` identical creates released at once: each one's response, or its transport error."""
    calls = [Call("POST", stack.orders_url + "/orders", user.id_token, body, timeout=TIMEOUT) for _ in range(count)]
    fire(calls)
    return [c.response if c.response is not None else c.error for c in calls]


def test_concurrent_identical_creates_make_one_order(stack: StackHandle, owner: User, local_stack_only: None) -> None:
    count = 24
    overlapped = False
    for _ in range(20):  # a round proves overlap when a duplicate was still in flight (on a busy machine
        # the two workers can take turns for several rounds); the first that does ends the loop
        order = order_body(str(uuid.uuid4()))
        before = metric_lines(stack, "SuccessfulOrder")
        results = _fire(stack, owner, order, count)
        assert all(isinstance(r, requests.Response) for r in results), results
        ok = [r for r in results if r.status_code == 200]
        conflicts = [r for r in results if r.status_code == 409]
        assert len(ok) + len(conflicts) == count, [(r.status_code, r.text) for r in results]
        assert ok and len({r.content for r in ok}) == 1
        for r in conflicts:
            assert r.json()["Code"] == "RequestInProgress" and r.headers["Retry-After"]
        assert len(stored_items(stack, owner.sub, order["orderId"])) == 1
        assert metric_lines(stack, "SuccessfulOrder") - before == 1
        if conflicts:
            overlapped = True
            break
    assert overlapped, "no round had a duplicate in flight: the requests never overlapped"


# -- DynamoDB round trips per operation (the service over the real DynamoDB Local) -------------

def test_round_trips_per_operation(stack: StackHandle, local_stack_only: None) -> None:
    load_app("orders_app")
    service_mod = app_module("orders_app", "chalicelib.orders.service")
    models = app_module("orders_app", "chalicelib.orders.models")
    repository = app_module("orders_app", "chalicelib.orders.repository")
    idempotency = app_module("orders_app", "chalicelib.orders.idempotency")
    jsonutil = app_module("orders_app", "chalicelib.shared.jsonutil")
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    errors = app_module("orders_app", "chalicelib.shared.errors")
    calls: List[str] = []

    def hook(**kwargs: Any) -> None:
        calls.append("call")
    stack.ddb.meta.events.register("before-send.dynamodb", hook)
    svc = service_mod.OrdersService(
        repository.DynamoOrdersRepository(stack.ddb, stack.table("OrdersTable")),
        idempotency_store=DynamoDBPersistenceLayer(table_name=stack.table("IdempotencyTable"),
                                                   boto3_client=stack.ddb),
        idempotency_config=idempotency.make_config(3600))
    me = app_module("orders_app", "chalicelib.shared.caller").Caller(sub=f"rt-{uuid.uuid4().hex}", is_admin=True)
    order = models.parse_new_order(jsonutil.loads_strict(json.dumps(order_body(str(uuid.uuid4())))), me)

    def count(action: Callable[[], Any]) -> int:
        calls.clear()
        action()
        return len(calls)

    try:
        assert count(lambda: svc.create(me, order, lambda_context=FakeLambdaContext())) == 3
        assert count(lambda: svc.create(me, order, lambda_context=FakeLambdaContext())) == 1
        assert count(lambda: svc.get(me, order.order_id)) == 1
        assert count(lambda: svc.list(me, 10)) == 1
        edit = models.parse_edit({"totalAmount": 3})
        assert count(lambda: svc.edit(me, order.order_id, edit)) == 1
        assert count(lambda: svc.acknowledge(me, me.sub, order.order_id)) == 1
        assert count(lambda: pytest.raises(errors.BadRequest, svc.cancel, me, order.order_id)) == 1
    finally:
        stack.ddb.meta.events.unregister("before-send.dynamodb", hook)


# -- access tokens: no route has authorization scopes, so the authorizer takes ID tokens only ----

def test_every_route_takes_the_id_token_and_refuses_the_access_token(stack: StackHandle, admin: User) -> None:
    """What AWS documents for a COGNITO_USER_POOLS authorizer on a method without authorization scopes
    (README, "Access tokens"): the same login's access token is a 401 on every route, its ID token is
    not (an admin's, so acknowledge passes its 403 too). Cognito's real tokens, both kinds."""
    order_id = f"tokens-{uuid.uuid4()}"
    created = call(stack.orders_url, "POST", "/orders", order_body(order_id), who=admin.id_token)
    assert created.status_code == 200, created.text
    routes = [("POST", "/orders", order_body(order_id)), ("GET", "/orders", None),
              ("GET", f"/orders/{order_id}", None), ("PUT", f"/orders/{order_id}", {"totalAmount": 3}),
              ("POST", f"/orders/{order_id}/acknowledge", {"userId": admin.sub}),
              ("DELETE", f"/orders/{order_id}", None)]
    for method, path, body in routes:
        assert_error(call(stack.orders_url, method, path, body, who=admin.access_token), 401, "Unauthorized")
        answer = call(stack.orders_url, method, path, body, who=admin.id_token)
        expected = 400 if method == "DELETE" else 200  # acknowledged just before: OrderNotPlaced, past the token
        assert answer.status_code == expected, (method, path, answer.text)
    assert_error(call(stack.orders_url, "GET", f"/orders/{order_id}", who=f"Bearer {admin.access_token}"), 401)
