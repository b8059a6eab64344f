"""The local stack's create delay (deploy/local/create_delay.py), a test aid that never ships: it
holds an order create inside the idempotent call, where the in-flight record exists, and leaves
every other app, route and setting alone."""
import json
from types import SimpleNamespace
from typing import Any, Dict

import pytest

from deploy.local import create_delay
from tests.support.orders import order_body
from tests.support.tokens import auth_headers


def test_the_create_sleeps_with_its_in_flight_record_written_and_the_order_not_yet(
        orders: SimpleNamespace, api: Any, repo: Any, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    before = orders.app.root.parts
    assert create_delay.install(orders.app, env={"LOCAL_CREATE_DELAY_MS": "250"}) == {"create_delay_ms": 250}
    parts = orders.app.root.parts
    assert isinstance(parts.repo, create_delay.SlowCreates)
    assert (parts.idempotency_store, parts.clock) == (before.idempotency_store, before.clock)
    held = []
    monkeypatch.setattr(create_delay.time, "sleep", lambda seconds: held.append(
        (seconds, [record.status for record in store.records.values()], repo.get("user-a", "order-1"))))
    response = api.http.post("/orders", headers=auth_headers(), body=json.dumps(order_body()).encode())
    assert response.status_code == 200, response.body
    assert held == [(0.25, ["INPROGRESS"], None)]
    assert [record.status for record in store.records.values()] == ["COMPLETED"]
    assert api.http.get("/orders/order-1", headers=auth_headers()).body == response.body


def test_reads_and_changes_are_not_delayed(orders: SimpleNamespace, api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    create_delay.install(orders.app, env={"LOCAL_CREATE_DELAY_MS": "250"})
    monkeypatch.setattr(create_delay.time, "sleep", lambda seconds: None)
    api.http.post("/orders", headers=auth_headers(), body=json.dumps(order_body()).encode())
    monkeypatch.setattr(create_delay.time, "sleep", lambda seconds: pytest.fail("slept outside a create"))
    for method, path in (("GET", "/orders/order-1"), ("GET", "/orders"), ("DELETE", "/orders/order-1")):
        assert api.http.request(method, path, headers=auth_headers(), body=b"").status_code == 200


@pytest.mark.parametrize("env", [{}, {"LOCAL_CREATE_DELAY_MS": ""}, {"LOCAL_CREATE_DELAY_MS": "0"}])
def test_without_a_delay_nothing_changes(orders: SimpleNamespace, env: Dict[str, str]) -> None:
    parts = orders.app.root.parts
    assert create_delay.install(orders.app, env=env) == {}
    assert orders.app.root.parts is parts


def test_only_the_orders_app_is_slowed() -> None:
    users = SimpleNamespace(app=SimpleNamespace(app_name="users"), root=None)
    assert create_delay.install(users, env={"LOCAL_CREATE_DELAY_MS": "600"}) == {}


@pytest.mark.parametrize("raw", ["x", "-1", "1.5", "10001"])
def test_a_bad_value_is_refused(orders: SimpleNamespace, raw: str) -> None:
    with pytest.raises(ValueError, match="LOCAL_CREATE_DELAY_MS"):
        create_delay.install(orders.app, env={"LOCAL_CREATE_DELAY_MS": raw})
