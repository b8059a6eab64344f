"""The orders API over HTTP against the local stack (DynamoDB Local, moto Cognito, the strict
multi-worker gateway) with real tokens: the workshop's eight orders scenarios, the ownership
matrix, byte-identical replays, concurrent duplicate creates, and the repository contract
against DynamoDB Local."""
import hashlib
import json
import threading
import uuid
from typing import Any, Dict, List, Optional

import pytest
import requests

from tests.support.apps import app_module, load_app
from tests.unit.orders.test_repository_contract import RepositoryContract

pytestmark = pytest.mark.integration

TIMEOUT = 15


# -- helpers ------------------------------------------------------------------------------

def workshop_order(order_id: Optional[str] = None) -> Dict[str, Any]:
    """The body the workshop's integration tests post."""
    return {
        "restaurantId": 1,
        "orderId": order_id or str(uuid.uuid4()),
        "orderItems": [
            {"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1},
            {"id": 2, "name": "Pizza - SMALL", "price": 4.99, "quantity": 2},
        ],
        "totalAmount": 19.97,
    }


def headers(user: Any = None) -> Dict[str, str]:
    h = {"Content-Type": "application/json"}
    if user is not None:
        h["Authorization"] = user.id_token
    return h


def send(stack: Any, method: str, path: str, user: Any = None, body: Any = None) -> requests.Response:
    data = json.dumps(body) if body is not None else None
    return requests.request(method, stack.orders_url + path, headers=headers(user), data=data, timeout=TIMEOUT)


def assert_error(response: requests.Response, status: int, code: Optional[str] = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"Code", "Message", "Fields"} and "Message" in body
    if code:
        assert body["Code"] == code, body


def stored_items(stack: Any, user_id: str, order_id: str) -> List[Dict[str, Any]]:
    response = stack.ddb.query(TableName=stack.table("OrdersTable"),
                               KeyConditionExpression="userId = :u AND orderId = :o",
                               ExpressionAttributeValues={":u": {"S": user_id}, ":o": {"S": order_id}},
                               ConsistentRead=True)
    return response["Items"]


def idempotency_key(user_id: str, order_id: str) -> str:
    """The record id Powertools derives from our key `[userId, orderId]` (prefix orders.create)."""
    digest = hashlib.md5(json.dumps([user_id, order_id], sort_keys=True).encode()).hexdigest()  # noqa: S324
    return f"orders.create#{digest}"


@pytest.fixture(scope="module")
def owner(stack):
    return stack.new_user()


@pytest.fixture(scope="module")
def other(stack):
    return stack.new_user()


@pytest.fixture(scope="module")
def admin(stack):
    return stack.new_user(admin=True)


# -- the workshop's eight orders scenarios --------------------------------------------------

def test_workshop_1_no_token_is_401(stack):
    assert_error(send(stack, "POST", "/orders", body=workshop_order()), 401)
    assert_error(send(stack, "GET", "/orders"), 401)


def test_workshop_2_to_8(stack, owner):
    order = workshop_order()
    oid = order["orderId"]
    created = send(stack, "POST", "/orders", owner, order)
    assert created.status_code == 200, created.text
    doc = created.json()
    assert doc["orderId"] == oid and doc["status"] == "PLACED" and doc["orderTime"].endswith("Z")
    assert doc["userId"] == owner.sub and doc["totalAmount"] == 19.97

    got = send(stack, "GET", f"/orders/{oid}", owner)
    assert got.status_code == 200 and got.json() == doc
    assert set(got.json()) == {"orderId", "userId", "restaurantId", "totalAmount", "orderItems", "status",
                               "orderTime"}

    listed = send(stack, "GET", "/orders", owner)
    assert listed.status_code == 200 and oid in [o["orderId"] for o in listed.json()["orders"]]

    # the workshop's client sends status and orderTime back unchanged, and a total that is not the sum
    edited_body = {**doc, "orderItems": doc["orderItems"] + [{"id": 3, "name": "Salad", "price": 6.5,
                                                              "quantity": 1}], "totalAmount": 30}
    edited = send(stack, "PUT", f"/orders/{oid}", owner, edited_body)
    assert edited.status_code == 200, edited.text
    assert edited.json()["totalAmount"] == 30 and len(edited.json()["orderItems"]) == 3
    assert edited.json()["orderTime"] == doc["orderTime"] and edited.json()["status"] == "PLACED"

    canceled = send(stack, "DELETE", f"/orders/{oid}", owner)
    assert canceled.status_code == 200 and canceled.json()["status"] == "CANCELED"
    assert_error(send(stack, "DELETE", f"/orders/{oid}", owner), 400, "OrderNotPlaced")

    again = workshop_order()
    first = send(stack, "POST", "/orders", owner, again)
    for _ in range(2):
        repeat = send(stack, "POST", "/orders", owner, again)
        assert repeat.status_code == 200 and repeat.json()["orderId"] == again["orderId"]
        assert repeat.content == first.content
    assert len(stored_items(stack, owner.sub, again["orderId"])) == 1


# -- storage format ------------------------------------------------------------------------

def test_stored_as_the_workshop_stores_it(stack, owner):
    order = workshop_order()
    doc = send(stack, "POST", "/orders", owner, order).json()
    [item] = stored_items(stack, owner.sub, order["orderId"])
    assert set(item) == {"userId", "orderId", "data", "requestHash"}
    assert item["data"]["M"]["status"] == {"S": "PLACED"}
    assert item["data"]["M"]["totalAmount"] == {"N": "19.97"}
    assert item["data"]["M"]["orderTime"] == {"S": doc["orderTime"]}


def test_a_workshop_item_reads_and_an_old_one_cannot_be_canceled(stack, owner):
    oid = str(uuid.uuid4())
    data = {"orderId": {"S": oid}, "userId": {"S": owner.sub}, "restaurantId": {"N": "1"},
            "totalAmount": {"N": "10"}, "status": {"S": "PLACED"}, "orderTime": {"S": "2020-01-01T00:00:00Z"},
            "orderItems": {"L": [{"M": {"id": {"N": "1"}, "name": {"S": "x"}, "price": {"N": "10"},
                                        "quantity": {"N": "1"}}}]}}
    stack.ddb.put_item(TableName=stack.table("OrdersTable"),
                       Item={"userId": {"S": owner.sub}, "orderId": {"S": oid}, "data": {"M": data}})
    got = send(stack, "GET", f"/orders/{oid}", owner)
    assert got.status_code == 200 and got.json()["orderTime"] == "2020-01-01T00:00:00Z"
    assert_error(send(stack, "DELETE", f"/orders/{oid}", owner), 400, "CancelWindowExpired")
    # no requestHash: a create reusing the id can never be proven the same request
    assert_error(send(stack, "POST", "/orders", owner, workshop_order(oid)), 409)
    assert stored_items(stack, owner.sub, oid)[0]["data"]["M"] == data


# -- ownership matrix -----------------------------------------------------------------------

def test_every_route_for_owner_other_admin_and_anonymous(stack, owner, other, admin):
    order = workshop_order()
    oid = order["orderId"]
    path = f"/orders/{oid}"
    for who in (None,):
        assert_error(send(stack, "POST", "/orders", who, order), 401)
    doc = send(stack, "POST", "/orders", owner, order).json()

    # reads
    assert_error(send(stack, "GET", path), 401)
    assert_error(send(stack, "GET", path, other), 404, "OrderNotFound")
    assert_error(send(stack, "GET", path, admin), 404, "OrderNotFound")  # admins act via acknowledge only
    assert send(stack, "GET", path, owner).json() == doc
    assert oid not in [o["orderId"] for o in send(stack, "GET", "/orders", other).json()["orders"]]
    assert_error(send(stack, "GET", "/orders"), 401)

    # edit
    for who, status in ((None, 401), (other, 404), (admin, 404)):
        assert_error(send(stack, "PUT", path, who, {"totalAmount": 1}), status)
    assert send(stack, "PUT", path, owner, {"totalAmount": 21}).json()["totalAmount"] == 21

    # acknowledge
    ack = f"{path}/acknowledge"
    assert_error(send(stack, "POST", ack, None, {"userId": owner.sub}), 401)
    assert_error(send(stack, "POST", ack, owner, {"userId": owner.sub}), 403)
    assert_error(send(stack, "POST", ack, other, {"userId": owner.sub}), 403)
    assert_error(send(stack, "POST", ack, admin, {"userId": other.sub}), 404)

    # cancel
    assert_error(send(stack, "DELETE", path), 401)
    assert_error(send(stack, "DELETE", path, other), 404)
    assert_error(send(stack, "DELETE", path, admin), 404)

    # lifecycle: PLACED -> ACKNOWLEDGED, after which nothing changes it
    acked = send(stack, "POST", ack, admin, {"userId": owner.sub})
    assert acked.status_code == 200 and acked.json()["status"] == "ACKNOWLEDGED"
    assert_error(send(stack, "POST", ack, admin, {"userId": owner.sub}), 400, "OrderNotPlaced")
    assert_error(send(stack, "DELETE", path, owner), 400, "OrderNotPlaced")
    assert_error(send(stack, "PUT", path, owner, {"totalAmount": 1}), 400, "OrderNotPlaced")


def test_same_order_id_for_two_users_gives_two_orders(stack, owner, other):
    order = workshop_order()
    a = send(stack, "POST", "/orders", owner, order)
    b = send(stack, "POST", "/orders", other, {**order, "totalAmount": 5})
    assert a.status_code == b.status_code == 200
    assert (a.json()["userId"], b.json()["userId"]) == (owner.sub, other.sub)
    assert b.json()["totalAmount"] == 5


def test_put_cannot_change_server_owned_fields(stack, owner):
    order = workshop_order()
    doc = send(stack, "POST", "/orders", owner, order).json()
    path = f"/orders/{order['orderId']}"
    for change, code in (({"status": "CANCELED"}, "StatusChanged"),
                         ({"orderTime": "2099-01-01T00:00:00Z"}, "OrderTimeChanged"),
                         ({"userId": "someone"}, "UserIdChanged")):
        assert_error(send(stack, "PUT", path, owner, {**doc, **change}), 400, code)
    assert send(stack, "GET", path, owner).json() == doc


def test_list_pagination_and_foreign_token(stack, other):
    user = other
    for _ in range(3):
        send(stack, "POST", "/orders", user, workshop_order())
    seen: List[str] = []
    token = None
    while True:
        query = "?limit=2" + (f"&nextToken={token}" if token else "")
        page = send(stack, "GET", "/orders" + query, user)
        assert page.status_code == 200
        seen += [o["orderId"] for o in page.json()["orders"]]
        token = page.json().get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 3
    first = send(stack, "GET", "/orders?limit=1", user).json()["nextToken"]
    stranger = stack.new_user()
    assert_error(send(stack, "GET", f"/orders?nextToken={first}", stranger), 400, "InvalidNextToken")
    assert_error(send(stack, "GET", "/orders?limit=101", user), 400)


# -- idempotency ------------------------------------------------------------------------------

def test_replay_is_byte_identical(stack, owner):
    order = workshop_order()
    first = send(stack, "POST", "/orders", owner, order)
    replay = send(stack, "POST", "/orders", owner, {**order, "status": "PLACED"})
    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    assert b'"totalAmount":19.97' in replay.content  # a number, not "19.97"


def test_reused_order_id_with_other_body_is_409(stack, owner):
    order = workshop_order()
    send(stack, "POST", "/orders", owner, order)
    assert_error(send(stack, "POST", "/orders", owner, {**order, "totalAmount": 1}), 409, "IdempotencyKeyReused")


def test_after_the_idempotency_record_is_gone(stack, owner):
    order = workshop_order()
    first = send(stack, "POST", "/orders", owner, order)
    deleted = stack.ddb.delete_item(TableName=stack.table("IdempotencyTable"),
                                    Key={"id": {"S": idempotency_key(owner.sub, order["orderId"])}},
                                    ReturnValues="ALL_OLD")
    assert "Attributes" in deleted  # the record really existed under the (user, order) key
    assert_error(send(stack, "POST", "/orders", owner, {**order, "totalAmount": 2}), 409)
    retry = send(stack, "POST", "/orders", owner, order)
    assert retry.status_code == 200 and retry.content == first.content
    assert stored_items(stack, owner.sub, order["orderId"])[0]["data"]["M"]["totalAmount"] == {"N": "19.97"}


def metric_lines(stack: Any, name: str) -> int:
    """EMF lines (one per flushed request) that carry metric `name`."""
    return sum(1 for line in stack.server_output("orders_app").splitlines()
               if line.startswith('{"_aws"') and f'"{name}":' in line)


def _fire(stack: Any, user: Any, body: Dict[str, Any], count: int) -> List[requests.Response]:
    barrier = threading.Barrier(count)
    results: List[Any] = [None] * count

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = send(stack, "POST", "/orders", user, body)
        except requests.RequestException as exc:  # recorded, and fails the test below
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    return results


def test_concurrent_identical_creates_make_one_order(stack, owner, local_stack_only):
    count = 24
    overlapped = False
    for _ in range(5):  # a round proves overlap when at least one duplicate was still in flight
        order = workshop_order()
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


# -- the repository contract against DynamoDB Local ---------------------------------------------

class TestDynamoRepository(RepositoryContract):
    @pytest.fixture
    def repo(self, stack, local_stack_only):
        load_app("orders_app")
        repository = app_module("orders_app", "chalicelib.orders.repository")
        return repository.DynamoOrdersRepository(stack.ddb, stack.table("OrdersTable"))


# -- DynamoDB round trips per operation (the service over the real DynamoDB Local) -------------

class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 5000


def test_round_trips_per_operation(stack, local_stack_only):
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
    order = models.parse_new_order(jsonutil.loads_strict(json.dumps(workshop_order())), me)

    def count(action) -> int:
        calls.clear()
        action()
        return len(calls)

    try:
        assert count(lambda: svc.create(me, order, lambda_context=_Context())) == 3
        assert count(lambda: svc.create(me, order, lambda_context=_Context())) == 1
        assert count(lambda: svc.get(me, order.order_id)) == 1
        assert count(lambda: svc.list(me, 10)) == 1
        edit = models.parse_edit({"totalAmount": 3})
        assert count(lambda: svc.edit(me, order.order_id, edit)) == 1
        assert count(lambda: svc.acknowledge(me, me.sub, order.order_id)) == 1
        assert count(lambda: pytest.raises(errors.BadRequest, svc.cancel, me, order.order_id)) == 1
    finally:
        stack.ddb.meta.events.unregister("before-send.dynamodb", hook)
