"""Business rules against the in-memory repository, the in-memory idempotency store and a fake clock."""
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Dict, NoReturn

import pytest

from tests.support.clock import FakeClock
from tests.support.lambda_context import FakeLambdaContext
from tests.support.metrics import MetricsRecorder
from tests.support.orders import caller, order_body


def new_order(orders: SimpleNamespace, sub: str = "user-a", **overrides: Any) -> Any:
    body = orders.jsonutil.loads_strict(orders.jsonutil.dumps(order_body(**overrides)))
    return orders.models.parse_new_order(body, caller(orders, sub))


def create(orders: SimpleNamespace, svc: Any, sub: str = "user-a", **overrides: Any) -> Any:
    return svc.create(caller(orders, sub), new_order(orders, sub, **overrides), lambda_context=FakeLambdaContext())


def edit(orders: SimpleNamespace, body: Dict[str, Any]) -> Any:
    return orders.models.parse_edit(orders.jsonutil.loads_strict(orders.jsonutil.dumps(body)))


# -- create -------------------------------------------------------------------------------

def test_create_places_order_with_server_time(orders: SimpleNamespace, svc: Any, metrics: MetricsRecorder) -> None:
    doc = create(orders, svc)
    assert doc == {"orderId": "order-1", "userId": "user-a", "restaurantId": 1,
                   "orderItems": [{"id": 1, "name": "Spaghetti", "price": Decimal("9.99"), "quantity": 1},
                                  {"id": 2, "name": "Pizza - SMALL", "price": Decimal("4.99"), "quantity": 2}],
                   "totalAmount": Decimal("19.97"), "status": "PLACED", "orderTime": "2024-05-01T10:00:00Z"}
    assert metrics.added == [("SuccessfulOrder", 1), ("OrderTotal", 19.97)]
    assert metrics.metadata == {"orderId": "order-1"}


def test_replay_returns_identical_rendering_and_no_metrics(orders: SimpleNamespace, svc: Any, metrics: MetricsRecorder,
                                                           repo: Any, clock: FakeClock) -> None:
    first = orders.jsonutil.dumps(create(orders, svc))
    clock.advance(seconds=30)
    again = orders.jsonutil.dumps(create(orders, svc, status="PLACED", totalAmount=Decimal("19.970")))
    assert again == first
    assert metrics.names() == ["SuccessfulOrder", "OrderTotal"]
    assert len(repo.query("user-a", 10).items) == 1


def test_same_order_id_with_different_body_is_409(orders: SimpleNamespace, svc: Any, repo: Any) -> None:
    create(orders, svc)
    with pytest.raises(orders.errors.Conflict) as excinfo:
        create(orders, svc, totalAmount=5)
    assert excinfo.value.code == "IdempotencyKeyReused"
    assert repo.get("user-a", "order-1")["totalAmount"] == Decimal("19.97")


def test_two_users_may_use_the_same_order_id(orders: SimpleNamespace, svc: Any, metrics: MetricsRecorder) -> None:
    a = create(orders, svc, sub="user-a")
    b = create(orders, svc, sub="user-b", totalAmount=1)
    assert (a["userId"], b["userId"]) == ("user-a", "user-b") and b["totalAmount"] == 1
    assert metrics.names().count("SuccessfulOrder") == 2


def test_retry_after_idempotency_record_is_gone_returns_stored_order(orders: SimpleNamespace, svc: Any, store: Any,
                                                                     clock: FakeClock,
                                                                     metrics: MetricsRecorder) -> None:
    first = create(orders, svc)
    store.records.clear()
    clock.advance(seconds=5)
    assert create(orders, svc) == first  # the original orderTime, not a new one
    assert metrics.names().count("SuccessfulOrder") == 1


def test_different_body_after_idempotency_record_is_gone_is_409_not_overwrite(orders: SimpleNamespace, svc: Any,
                                                                              store: Any, repo: Any) -> None:
    create(orders, svc)
    store.records.clear()
    with pytest.raises(orders.errors.Conflict):
        create(orders, svc, totalAmount=1)
    assert repo.get("user-a", "order-1")["totalAmount"] == Decimal("19.97")
    assert store.records == {}  # the failed attempt left no record behind


def test_workshop_item_without_request_hash_is_never_overwritten(orders: SimpleNamespace, svc: Any, repo: Any) -> None:
    repo.items[("user-a", "order-1")] = {"userId": "user-a", "orderId": "order-1",
                                         "data": {"orderId": "order-1", "status": "PLACED"}}
    with pytest.raises(orders.errors.Conflict):
        create(orders, svc)


def test_in_flight_duplicate_is_409_with_retry_after(orders: SimpleNamespace, svc: Any, store: Any) -> None:
    request = {"userId": "user-a", "orderId": "order-1", "requestHash": new_order(orders).request_hash()}
    store.configure(svc._idempotency_config, key_prefix=orders.idempotency.KEY_PREFIX)
    store.save_inprogress(request, remaining_time_in_millis=5000)  # another worker is creating it
    with pytest.raises(orders.errors.Conflict) as excinfo:
        create(orders, svc)
    assert excinfo.value.code == "RequestInProgress" and excinfo.value.headers == {"Retry-After": "1"}


def test_idempotency_store_failure_is_503(orders: SimpleNamespace, svc: Any, store: Any, repo: Any) -> None:
    store.fail_with = RuntimeError("boom")
    with pytest.raises(orders.errors.ServiceUnavailable) as excinfo:
        create(orders, svc)
    assert excinfo.value.headers["Retry-After"] == "1"
    assert repo.get("user-a", "order-1") is None


def test_failed_write_clears_the_in_progress_record(orders: SimpleNamespace, svc: Any, store: Any, repo: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> NoReturn:
        raise ConnectionError("ddb down")
    monkeypatch.setattr(repo, "put_new", broken)
    with pytest.raises(ConnectionError):
        create(orders, svc)
    assert store.records == {}
    monkeypatch.undo()
    assert create(orders, svc)["status"] == "PLACED"


# -- read ---------------------------------------------------------------------------------

def test_get_own_order_and_404_for_others_and_missing(orders: SimpleNamespace, svc: Any) -> None:
    created = create(orders, svc)
    assert svc.get(caller(orders), "order-1") == created
    for who, order_id in (("user-b", "order-1"), ("user-a", "missing")):
        with pytest.raises(orders.errors.NotFound):
            svc.get(caller(orders, who), order_id)


def test_list_pages_only_callers_orders_with_token_only_when_more(orders: SimpleNamespace, svc: Any) -> None:
    for i in range(5):
        create(orders, svc, orderId=f"o-{i}")
    create(orders, svc, sub="user-b", orderId="o-9")
    first = svc.list(caller(orders), 2)
    assert [o["orderId"] for o in first["orders"]] == ["o-0", "o-1"] and "nextToken" in first
    second = svc.list(caller(orders), 2, first["nextToken"])
    third = svc.list(caller(orders), 2, second["nextToken"])
    assert [o["orderId"] for o in second["orders"] + third["orders"]] == ["o-2", "o-3", "o-4"]
    assert "nextToken" not in third
    exact = svc.list(caller(orders), 5)
    assert len(exact["orders"]) == 5 and "nextToken" not in exact
    assert svc.list(caller(orders, "user-c"), 5) == {"orders": []}


def test_another_users_token_is_400(orders: SimpleNamespace, svc: Any) -> None:
    for i in range(3):
        create(orders, svc, orderId=f"o-{i}")
    token = svc.list(caller(orders), 1)["nextToken"]
    for who, bad in (("user-b", token), ("user-a", token + "x"), ("user-a", "not-a-token"), ("user-a", "")):
        with pytest.raises(orders.errors.BadRequest) as excinfo:
            svc.list(caller(orders, who), 1, bad)
        assert excinfo.value.code == "InvalidNextToken"


# -- edit ---------------------------------------------------------------------------------

def test_edit_placed_order_one_write(orders: SimpleNamespace, svc: Any, repo: Any, clock: FakeClock,
                                     metrics: MetricsRecorder) -> None:
    created = create(orders, svc)
    clock.advance(minutes=1)
    calls = repo.calls
    updated = svc.edit(caller(orders), "order-1", edit(orders, {
        **created, "totalAmount": 25, "orderItems": [{"id": 3, "name": "Soup", "price": 3.5, "quantity": 2}]}))
    assert repo.calls == calls + 1
    assert updated["totalAmount"] == 25 and updated["orderItems"][0]["price"] == Decimal("3.5")
    assert (updated["status"], updated["orderTime"]) == ("PLACED", created["orderTime"])
    assert updated["updatedAt"] == "2024-05-01T10:01:00Z"
    assert repo.get("user-a", "order-1") == updated
    assert "OrderEdited" in metrics.names()


@pytest.mark.parametrize("field, value, code", [
    ("status", "CANCELED", "StatusChanged"),
    ("orderTime", "2030-01-01T00:00:00Z", "OrderTimeChanged"),
    ("updatedAt", "2024-05-01T10:00:00Z", "UpdatedAtChanged"),
])
def test_edit_changing_server_owned_field_is_400_and_changes_nothing(orders: SimpleNamespace, svc: Any, repo: Any,
                                                                     field: str, value: str, code: str) -> None:
    create(orders, svc)
    with pytest.raises(orders.errors.BadRequest) as excinfo:
        svc.edit(caller(orders), "order-1", edit(orders, {"totalAmount": 1, field: value}))
    assert excinfo.value.code == code
    assert repo.get("user-a", "order-1")["totalAmount"] == Decimal("19.97")


def test_edit_not_placed_is_400_and_missing_or_foreign_is_404(orders: SimpleNamespace, svc: Any) -> None:
    create(orders, svc)
    svc.cancel(caller(orders), "order-1")
    with pytest.raises(orders.errors.BadRequest) as excinfo:
        svc.edit(caller(orders), "order-1", edit(orders, {"totalAmount": 1, "status": "PLACED"}))
    assert excinfo.value.code == "OrderNotPlaced"
    create(orders, svc, sub="user-b", orderId="order-b")
    for order_id in ("missing", "order-b"):
        with pytest.raises(orders.errors.NotFound):
            svc.edit(caller(orders), order_id, edit(orders, {"totalAmount": 1}))


@pytest.mark.parametrize("body, code", [
    ({"totalAmount": 1, "orderId": "other"}, "OrderIdChanged"),
    ({"totalAmount": 1, "userId": "user-b"}, "UserIdChanged"),
])
def test_edit_rejects_changed_keys_without_a_read(orders: SimpleNamespace, svc: Any, repo: Any, body: Dict[str, Any],
                                                  code: str) -> None:
    with pytest.raises(orders.errors.BadRequest) as excinfo:
        svc.edit(caller(orders), "order-1", orders.models.parse_edit(body))
    assert excinfo.value.code == code
    assert repo.calls == 0


# -- cancel -------------------------------------------------------------------------------

def test_cancel_at_9_59_succeeds(orders: SimpleNamespace, svc: Any, clock: FakeClock, metrics: MetricsRecorder) -> None:
    create(orders, svc)
    clock.advance(minutes=9, seconds=59)
    doc = svc.cancel(caller(orders), "order-1")
    assert doc["status"] == "CANCELED" and doc["updatedAt"] == "2024-05-01T10:09:59Z"
    assert "OrderCanceled" in metrics.names()


def test_cancel_at_10_01_is_400_window_expired(orders: SimpleNamespace, svc: Any, clock: FakeClock, repo: Any) -> None:
    create(orders, svc)
    clock.advance(minutes=10, seconds=1)
    with pytest.raises(orders.errors.BadRequest) as excinfo:
        svc.cancel(caller(orders), "order-1")
    assert excinfo.value.code == "CancelWindowExpired"
    assert repo.get("user-a", "order-1")["status"] == "PLACED"


def test_cancel_twice_is_400_not_placed_and_missing_is_404(orders: SimpleNamespace, svc: Any) -> None:
    create(orders, svc)
    svc.cancel(caller(orders), "order-1")
    with pytest.raises(orders.errors.BadRequest) as excinfo:
        svc.cancel(caller(orders), "order-1")
    assert excinfo.value.code == "OrderNotPlaced"
    for who in ("user-b",):
        with pytest.raises(orders.errors.NotFound):
            svc.cancel(caller(orders, who), "order-1")


def test_cancel_window_compares_times_not_strings_of_different_shapes(orders: SimpleNamespace, svc: Any,
                                                                      clock: FakeClock) -> None:
    # across a day/month/year boundary the fixed-width UTC format still orders correctly
    from datetime import datetime, timezone
    clock.now = datetime(2024, 12, 31, 23, 55, 0, tzinfo=timezone.utc)
    create(orders, svc)
    clock.now = datetime(2025, 1, 1, 0, 4, 59, tzinfo=timezone.utc)
    assert svc.cancel(caller(orders), "order-1")["status"] == "CANCELED"


# -- acknowledge --------------------------------------------------------------------------

def test_admin_acknowledges_placed_order(orders: SimpleNamespace, svc: Any, metrics: MetricsRecorder) -> None:
    create(orders, svc)
    doc = svc.acknowledge(caller(orders, "admin", admin=True), "user-a", "order-1")
    assert doc["status"] == "ACKNOWLEDGED" and doc["userId"] == "user-a"
    assert "OrderAcknowledged" in metrics.names()
    with pytest.raises(orders.errors.BadRequest) as excinfo:
        svc.acknowledge(caller(orders, "admin", admin=True), "user-a", "order-1")
    assert excinfo.value.code == "OrderNotPlaced"
    with pytest.raises(orders.errors.BadRequest):  # an acknowledged order can no longer be canceled
        svc.cancel(caller(orders), "order-1")


def test_acknowledge_needs_admin_and_existing_order(orders: SimpleNamespace, svc: Any, repo: Any) -> None:
    create(orders, svc)
    with pytest.raises(orders.errors.Forbidden):
        svc.acknowledge(caller(orders, "user-a"), "user-a", "order-1")
    assert repo.get("user-a", "order-1")["status"] == "PLACED"
    with pytest.raises(orders.errors.NotFound):
        svc.acknowledge(caller(orders, "admin", admin=True), "user-b", "order-1")
