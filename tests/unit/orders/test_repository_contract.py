"""One contract for every OrderRepository: run here against the in-memory fake and, in
tests/integration/test_orders_api.py, against DynamoDB Local (same class, other fixture)."""
from decimal import Decimal

import pytest


def document(order_id="o-1", user_id="u-1", **extra):
    return {"orderId": order_id, "userId": user_id, "restaurantId": 7,
            "orderItems": [{"id": "a", "name": "Soup", "price": Decimal("3.5"), "quantity": 2}],
            "totalAmount": Decimal("7"), "status": "PLACED", "orderTime": "2024-05-01T10:00:00Z", **extra}


class RepositoryContract:
    """Subclasses provide a `repo` fixture (an empty repository with unique user ids via `uid`)."""

    @pytest.fixture
    def uid(self, request):
        import uuid
        prefix = uuid.uuid4().hex[:8]
        return lambda name: f"{prefix}-{name}"

    def test_put_new_then_get(self, repo, uid):
        doc = document(user_id=uid("u"))
        assert repo.put_new(doc, "hash-1") is None
        got = repo.get(uid("u"), "o-1")
        assert got == doc and isinstance(got["restaurantId"], Decimal)
        assert repo.get(uid("u"), "o-2") is None and repo.get(uid("other"), "o-1") is None

    def test_put_existing_returns_old_item_and_keeps_it(self, repo, uid):
        doc = document(user_id=uid("u"))
        repo.put_new(doc, "hash-1")
        existing = repo.put_new({**doc, "totalAmount": Decimal("1")}, "hash-2")
        assert existing.document == doc and existing.request_hash == "hash-1"
        assert repo.get(uid("u"), "o-1")["totalAmount"] == Decimal("7")

    def test_same_order_id_for_two_users(self, repo, uid):
        assert repo.put_new(document(user_id=uid("a")), "h") is None
        assert repo.put_new(document(user_id=uid("b")), "h") is None

    def test_query_pages_in_order_id_order_with_marker_only_when_more(self, repo, uid):
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

    def test_update_when_conditions_hold_returns_new_document(self, repo, uid):
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
    def test_failed_condition_returns_current_document_and_writes_nothing(self, repo, uid, expected,
                                                                          order_time_from):
        repo.put_new(document(user_id=uid("u")), "h")
        outcome = repo.update(uid("u"), "o-1", {"totalAmount": Decimal("1")}, expected, order_time_from)
        assert outcome.document is None and outcome.current == document(user_id=uid("u"))
        assert repo.get(uid("u"), "o-1") == document(user_id=uid("u"))

    def test_update_of_missing_order_returns_nothing_and_creates_nothing(self, repo, uid):
        outcome = repo.update(uid("u"), "o-1", {"status": "CANCELED"}, {"status": "PLACED"})
        assert outcome.document is None and outcome.current is None
        assert repo.get(uid("u"), "o-1") is None

    def test_numbers_round_trip_exactly(self, repo, uid):
        doc = document(user_id=uid("u"), totalAmount=Decimal("19.97"))
        doc["orderItems"][0]["price"] = Decimal("0.1")
        repo.put_new(doc, "h")
        assert repo.get(uid("u"), "o-1")["totalAmount"] == Decimal("19.97")
        assert str(repo.get(uid("u"), "o-1")["orderItems"][0]["price"]) == "0.1"


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def repo(self, orders):
        return orders.repository.InMemoryOrdersRepository()
