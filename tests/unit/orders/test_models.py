"""Validation and normalisation of order input (no HTTP, no storage)."""
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Dict

import pytest

from tests.support.orders import caller, order_body

DROP = object()


def j(orders: SimpleNamespace, body: Dict[str, Any]) -> Any:
    """`body` as the strict parser delivers it (floats become Decimal)."""
    return orders.jsonutil.loads_strict(orders.jsonutil.dumps(body))


def parse(orders: SimpleNamespace, body: Dict[str, Any], sub: str = "user-a") -> Any:
    body = {k: v for k, v in body.items() if v is not DROP}
    return orders.models.parse_new_order(j(orders, body), caller(orders, sub))


def fields_of(excinfo: pytest.ExceptionInfo[Any]) -> Dict[str, str]:
    return excinfo.value.fields or {}


def test_valid_order_is_normalised(orders: SimpleNamespace) -> None:
    order = parse(orders, order_body(totalAmount=Decimal("19.970"), restaurantId="r-9"))
    assert order.order_id == "order-1" and order.restaurant_id == "r-9"
    assert order.total_amount == Decimal("19.97") and str(order.total_amount) == "19.97"
    assert order.order_items[0] == {"id": 1, "name": "Spaghetti", "price": Decimal("9.99"), "quantity": 1}


@pytest.mark.parametrize("a, b", [
    ({}, {"status": "PLACED"}),
    ({"totalAmount": Decimal("19.97")}, {"totalAmount": Decimal("19.970")}),
    ({"totalAmount": 20}, {"totalAmount": Decimal("20.00")}),
    ({}, {"userId": "user-a"}),
])
def test_equivalent_bodies_hash_the_same(orders: SimpleNamespace, a: Dict[str, Any], b: Dict[str, Any]) -> None:
    assert parse(orders, order_body(**a)).request_hash() == parse(orders, order_body(**b)).request_hash()


@pytest.mark.parametrize("change", [{"totalAmount": Decimal("19.98")}, {"restaurantId": 2},
                                    {"restaurantId": "1"}, {"orderId": "order-2"}])
def test_different_bodies_hash_differently(orders: SimpleNamespace, change: Dict[str, Any]) -> None:
    assert parse(orders, order_body()).request_hash() != parse(orders, order_body(**change)).request_hash()


@pytest.mark.parametrize("change, field", [
    ({"orderId": DROP}, "orderId"),
    ({"orderId": "has space"}, "orderId"),
    ({"orderId": "x" * 65}, "orderId"),
    ({"orderId": 12}, "orderId"),
    ({"status": "CANCELED"}, "status"),
    ({"userId": "someone-else"}, "userId"),
    ({"restaurantId": DROP}, "restaurantId"),
    ({"restaurantId": True}, "restaurantId"),
    ({"restaurantId": ""}, "restaurantId"),
    ({"restaurantId": Decimal("1.5")}, "restaurantId"),
    ({"totalAmount": Decimal("-1")}, "totalAmount"),
    ({"totalAmount": Decimal("1.001")}, "totalAmount"),
    ({"totalAmount": "19.97"}, "totalAmount"),
    ({"orderItems": []}, "orderItems"),
    ({"orderItems": [{"id": 1, "name": "x", "price": 1, "quantity": 1}] * 101}, "orderItems"),
    ({"orderItems": ["nope"]}, "orderItems[0]"),
    ({"orderItems": [{"id": 1, "name": "x", "price": 1, "quantity": 0}]}, "orderItems[0].quantity"),
    ({"orderItems": [{"id": 1, "name": "x", "price": 1, "quantity": 1001}]}, "orderItems[0].quantity"),
    ({"orderItems": [{"id": 1, "name": "x", "price": 1, "quantity": Decimal("1.5")}]}, "orderItems[0].quantity"),
    ({"orderItems": [{"id": 1, "name": "x", "price": Decimal("0.001"), "quantity": 1}]}, "orderItems[0].price"),
    ({"orderItems": [{"id": 1, "name": "", "price": 1, "quantity": 1}]}, "orderItems[0].name"),
    ({"orderItems": [{"id": None, "name": "x", "price": 1, "quantity": 1}]}, "orderItems[0].id"),
    ({"orderItems": [{"id": 1, "name": "x", "price": 1, "quantity": 1, "extra": 1}]}, "orderItems[0].extra"),
    ({"surprise": 1}, "surprise"),
    ({"orderTime": "2024-01-01T00:00:00Z"}, "orderTime"),
])
def test_invalid_create_names_the_field(orders: SimpleNamespace, change: Dict[str, Any], field: str) -> None:
    with pytest.raises(orders.errors.ValidationFailed) as excinfo:
        parse(orders, order_body(**change))
    assert field in fields_of(excinfo)
    assert excinfo.value.status == 400


def test_limits_are_inclusive(orders: SimpleNamespace) -> None:
    items = [{"id": str(i), "name": "n", "price": 0, "quantity": 1000} for i in range(100)]
    order = parse(orders, order_body(orderId="A" * 64, orderItems=items, totalAmount=0))
    assert len(order.order_items) == 100


def test_edit_accepts_unchanged_server_fields_and_keeps_them_as_conditions(orders: SimpleNamespace) -> None:
    body = {**order_body(), "userId": "user-a", "status": "PLACED", "orderTime": "2024-05-01T10:00:00Z",
            "totalAmount": Decimal("25")}
    edit = orders.models.parse_edit(j(orders, body))
    assert set(edit.changes) == {"restaurantId", "orderItems", "totalAmount"}
    assert edit.changes["totalAmount"] == 25
    assert edit.expected == {"status": "PLACED", "orderTime": "2024-05-01T10:00:00Z"}


@pytest.mark.parametrize("body, field", [
    ({}, "body"), ({"status": "PLACED"}, "body"), ({"totalAmount": 1, "nope": 1}, "nope"),
    ({"totalAmount": 1, "status": 5}, "status"), ({"orderItems": []}, "orderItems"),
])
def test_edit_validation(orders: SimpleNamespace, body: Dict[str, Any], field: str) -> None:
    with pytest.raises(orders.errors.ValidationFailed) as excinfo:
        orders.models.parse_edit(body)
    assert field in fields_of(excinfo)


def test_acknowledge_body(orders: SimpleNamespace) -> None:
    assert orders.models.parse_acknowledge({"userId": "owner"}) == "owner"
    for body in ({}, {"userId": ""}, {"userId": 5}, {"userId": "o", "x": 1}):
        with pytest.raises(orders.errors.ValidationFailed):
            orders.models.parse_acknowledge(body)


@pytest.mark.parametrize("groups, admin", [
    (["apiAdmins"], True), (["x", "apiAdmins"], True), ("x,apiAdmins", True), ("[x, apiAdmins]", True),
    ("apiAdmins ", False), (["notapiAdmins"], False), (None, False),
])
def test_caller_from_claims_reads_groups_in_every_shape(orders: SimpleNamespace, groups: Any, admin: bool) -> None:
    claims = {"sub": "s-1", "token_use": "id", **({"cognito:groups": groups} if groups is not None else {})}
    context = {"authorizer": {"claims": claims}}
    assert orders.caller.Caller.from_cognito_authorizer(context, "apiAdmins") == orders.caller.Caller("s-1", admin)


def test_caller_without_sub_is_unauthorized(orders: SimpleNamespace) -> None:
    with pytest.raises(orders.errors.Unauthorized):
        orders.caller.Caller.from_cognito_authorizer({"authorizer": {"claims": {}}}, "apiAdmins")
    with pytest.raises(orders.errors.Unauthorized):
        orders.caller.Caller.from_cognito_authorizer({"authorizer": {"claims": {"token_use": "id"}}}, "apiAdmins")


@pytest.mark.parametrize("token_use", ["access", None, "", "ID", ["id"]])
def test_caller_only_from_an_id_tokens_claims(orders: SimpleNamespace, token_use: Any) -> None:
    """Whatever the gateway let through: an access token (or claims that are no ID token's) is a 401."""
    claims = {"sub": "s-1", "client_id": "c", "scope": "aws.cognito.signin.user.admin",
              **({} if token_use is None else {"token_use": token_use})}
    with pytest.raises(orders.errors.Unauthorized):
        orders.caller.Caller.from_cognito_authorizer({"authorizer": {"claims": claims}}, "apiAdmins")


def test_render_orders_keys_canonically(orders: SimpleNamespace) -> None:
    doc = {"status": "PLACED", "orderItems": [{"quantity": 1, "price": 1, "name": "n", "id": 1}],
           "orderId": "o", "zzz": 1, "userId": "u"}
    assert list(orders.render.order(doc)) == ["orderId", "userId", "orderItems", "status", "zzz"]
    assert list(orders.render.order(doc)["orderItems"][0]) == ["id", "name", "price", "quantity"]
