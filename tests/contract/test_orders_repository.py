"""One contract for every OrderRepository (orders_app/chalicelib/orders/repository.py): each case runs
once against the in-memory fake and once against the DynamoDB implementation on DynamoDB Local, in a
table of its own (`repo[in_memory]`, `repo[dynamodb]`; the DynamoDB cases are marked `integration`,
so `make test-unit` leaves them out and starts no stack). Then the DynamoDB implementation alone,
against a stubbed client: an update the SDK retried after its first attempt was applied.
"""
import uuid
from decimal import Decimal
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, Optional

import pytest
from botocore.exceptions import ClientError

from tests.support.apps import app_module, load_app
from tests.support.storage import BACKENDS, contract_repository

Uid = Callable[[str], str]


def document(order_id: str = "o-1", user_id: str = "u-1", **extra: Any) -> Dict[str, Any]:
    return {"orderId": order_id, "userId": user_id, "restaurantId": 7,
            "orderItems": [{"id": "a", "name": "Soup", "price": Decimal("3.5"), "quantity": 2}],
            "totalAmount": Decimal("7"), "status": "PLACED", "orderTime": "2024-05-01T10:00:00Z", **extra}


@pytest.fixture(scope="module")
def repository() -> ModuleType:
    """The orders app's repository module."""
    load_app("orders_app")
    return app_module("orders_app", "chalicelib.orders.repository")


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest, repository: ModuleType) -> Iterator[Any]:
    """An empty repository: the in-memory fake, or DynamoDB's on a new table in the local stack."""
    yield from contract_repository(request, "orders_app", repository.InMemoryOrdersRepository,
                                   repository.DynamoOrdersRepository, "OrdersTable")


@pytest.fixture
def uid() -> Uid:
    """User ids unique to the test."""
    prefix = uuid.uuid4().hex[:8]
    return lambda name: f"{prefix}-{name}"


# -- the contract -------------------------------------------------------------------------

def test_put_new_then_get(repo: Any, uid: Uid) -> None:
    doc = document(user_id=uid("u"))
    assert repo.put_new(doc, "hash-1") is None
    got = repo.get(uid("u"), "o-1")
    assert got == doc and isinstance(got["restaurantId"], Decimal)
    assert repo.get(uid("u"), "o-2") is None and repo.get(uid("other"), "o-1") is None


def test_put_existing_returns_old_item_and_keeps_it(repo: Any, uid: Uid) -> None:
    doc = document(user_id=uid("u"))
    repo.put_new(doc, "hash-1")
    existing = repo.put_new({**doc, "totalAmount": Decimal("1")}, "hash-2")
    assert existing.document == doc and existing.request_hash == "hash-1"
    assert repo.get(uid("u"), "o-1")["totalAmount"] == Decimal("7")


def test_same_order_id_for_two_users(repo: Any, uid: Uid) -> None:
    assert repo.put_new(document(user_id=uid("a")), "h") is None
    assert repo.put_new(document(user_id=uid("b")), "h") is None


def test_query_pages_in_order_id_order_with_marker_only_when_more(repo: Any, uid: Uid) -> None:
    for i in (3, 1, 2, 4):
        repo.put_new(document(order_id=f"o-{i}", user_id=uid("u")), "h")
    repo.put_new(document(order_id="o-0", user_id=uid("v")), "h")
    first = repo.query(uid("u"), 2)
    assert [d["orderId"] for d in first.items] == ["o-1", "o-2"]
    assert first.last_key == {"userId": uid("u"), "orderId": "o-2"}
    second = repo.query(uid("u"), 2, first.last_key)
    assert [d["orderId"] for d in second.items] == ["o-3", "o-4"] and second.last_key is None
    assert repo.query(uid("u"), 10).last_key is None
    assert repo.query(uid("nobody"), 10).items == []


def test_update_when_conditions_hold_returns_new_document(repo: Any, uid: Uid) -> None:
    repo.put_new(document(user_id=uid("u")), "h")
    outcome = repo.update(uid("u"), "o-1", {"status": "CANCELED", "updatedAt": "2024-05-01T10:05:00Z"},
                          {"status": "PLACED"}, order_time_from="2024-05-01T10:00:00Z")
    assert outcome.document == {**document(user_id=uid("u")), "status": "CANCELED",
                                "updatedAt": "2024-05-01T10:05:00Z"}
    assert repo.get(uid("u"), "o-1") == outcome.document


@pytest.mark.parametrize("expected, order_time_from", [
    ({"status": "ACKNOWLEDGED"}, None),
    ({"status": "PLACED", "orderTime": "2024-05-01T10:00:01Z"}, None),
    ({"status": "PLACED", "updatedAt": "2024-05-01T10:00:00Z"}, None),  # absent attribute
    ({"status": "PLACED"}, "2024-05-01T10:00:01Z"),
])
def test_failed_condition_returns_current_document_and_writes_nothing(repo: Any, uid: Uid,
                                                                      expected: Dict[str, Any],
                                                                      order_time_from: Optional[str]) -> None:
    repo.put_new(document(user_id=uid("u")), "h")
    outcome = repo.update(uid("u"), "o-1", {"totalAmount": Decimal("1")}, expected, order_time_from)
    assert outcome.document is None and outcome.current == document(user_id=uid("u"))
    assert repo.get(uid("u"), "o-1") == document(user_id=uid("u"))


def test_update_of_missing_order_returns_nothing_and_creates_nothing(repo: Any, uid: Uid) -> None:
    outcome = repo.update(uid("u"), "o-1", {"status": "CANCELED"}, {"status": "PLACED"})
    assert outcome.document is None and outcome.current is None
    assert repo.get(uid("u"), "o-1") is None


def test_numbers_round_trip_exactly(repo: Any, uid: Uid) -> None:
    doc = document(user_id=uid("u"), totalAmount=Decimal("19.97"))
    doc["orderItems"][0]["price"] = Decimal("0.1")
    repo.put_new(doc, "h")
    assert repo.get(uid("u"), "o-1")["totalAmount"] == Decimal("19.97")
    assert str(repo.get(uid("u"), "o-1")["orderItems"][0]["price"]) == "0.1"


# -- the DynamoDB implementation against a stubbed client -----------------------------------

class ConditionFailsClient:
    """Answers UpdateItem as DynamoDB does when the condition fails, returning the stored item whose
    `lastWrite` is `last_write` (None: the id this very call sent, i.e. its earlier attempt applied)."""

    def __init__(self, last_write: Optional[str] = None) -> None:
        self.last_write = last_write

    def update_item(self, **params: Any) -> None:
        write_id = self.last_write or params["ExpressionAttributeValues"][":w"]["S"]
        item = {"userId": {"S": "u"}, "orderId": {"S": "o"}, "lastWrite": {"S": write_id},
                "data": {"M": {"orderId": {"S": "o"}, "status": {"S": "CANCELED"}}}}
        raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}, "Item": item}, "UpdateItem")


def test_a_failed_condition_against_our_own_write_is_success(repository: ModuleType) -> None:
    """The SDK retried an update whose first attempt was applied: the retry's condition fails against
    our own write, and that reads as success, not a conflict."""
    outcome = repository.DynamoOrdersRepository(ConditionFailsClient(), "orders").update(
        "u", "o", {"status": "CANCELED"}, {"status": "PLACED"})
    assert outcome.document == {"orderId": "o", "status": "CANCELED"}
    assert outcome.current is None


def test_a_failed_condition_against_another_write_is_the_current_state(repository: ModuleType) -> None:
    outcome = repository.DynamoOrdersRepository(ConditionFailsClient("someone-else"), "orders").update(
        "u", "o", {"status": "CANCELED"}, {"status": "PLACED"})
    assert outcome.document is None
    assert outcome.current == {"orderId": "o", "status": "CANCELED"}
