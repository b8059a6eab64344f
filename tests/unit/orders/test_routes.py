"""The HTTP surface through the strict local gateway: real RS256 tokens, the Cognito authorizer
enforced, storage in memory, time from a fake clock."""
import json
from typing import Any, Dict, List, Optional

import pytest

from chalicelib_shared.jwks import JwksClient
from chalicelib_shared.verifier import CognitoVerifier
from deploy.local.strict import StrictTestClient
from tests.support import tokens
from tests.support.apps import app_dir
from tests.support.clock import FakeClock
from tests.support.http import assert_error, call
from tests.support.orders import order_body
from tests.support.tokens import auth_headers

ROUTES = [("POST", "/orders"), ("GET", "/orders"), ("GET", "/orders/order-1"), ("PUT", "/orders/order-1"),
          ("DELETE", "/orders/order-1"), ("POST", "/orders/order-1/acknowledge")]


def create(api: Any, sub: str = "user-a", **overrides: Any) -> Any:
    return call(api, "POST", "/orders", order_body(**overrides), headers=auth_headers(sub))


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "not-a-jwt"},
                                     {"Authorization": tokens.token(key="other")},
                                     {"Authorization": tokens.token(exp=1)}])
def test_every_route_needs_a_valid_token(api: Any, method: str, path: str, headers: Dict[str, str]) -> None:
    assert_error(call(api, method, path, {"x": 1}, headers=headers, content_type=None), 401)


def test_create_returns_the_document(api: Any, capsys: pytest.CaptureFixture[str]) -> None:
    response = create(api)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.body == (b'{"orderId":"order-1","userId":"user-a","restaurantId":1,"orderItems":['
                             b'{"id":1,"name":"Spaghetti","price":9.99,"quantity":1},'
                             b'{"id":2,"name":"Pizza - SMALL","price":4.99,"quantity":2}],'
                             b'"totalAmount":19.97,"status":"PLACED","orderTime":"2024-05-01T10:00:00Z"}')
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    orders_metrics = [m for m in emf if "SuccessfulOrder" in m]
    assert len(orders_metrics) == 1
    metric = orders_metrics[0]
    assert metric["SuccessfulOrder"] == [1.0] and metric["OrderTotal"] == [19.97] and metric["service"] == "orders"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ServerlessWorkshop"


def test_replay_is_byte_identical_and_emits_no_metric(api: Any, clock: FakeClock,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    first = create(api)
    capsys.readouterr()
    clock.advance(seconds=20)
    again = create(api, status="PLACED")
    assert again.status_code == 200 and again.body == first.body
    assert "SuccessfulOrder" not in capsys.readouterr().out


def test_reuse_with_different_body_is_409(api: Any) -> None:
    create(api)
    assert_error(create(api, totalAmount=1), 409, "IdempotencyKeyReused")


def test_other_user_same_order_id_gets_own_order(api: Any) -> None:
    create(api)
    other = create(api, sub="user-b", totalAmount=3)
    assert other.status_code == 200 and json.loads(other.body)["userId"] == "user-b"


@pytest.mark.parametrize("raw, headers, status, code", [
    ('{"orderId": "x"', None, 400, "InvalidJson"),
    ('{"totalAmount": NaN}', None, 400, "InvalidJson"),
    ('[1]', None, 400, "InvalidJson"),
    ("orderId=x", {"Content-Type": "text/plain"}, 415, None),
])
def test_bad_bodies(api: Any, raw: str, headers: Optional[Dict[str, str]], status: int, code: Optional[str]) -> None:
    response = call(api, "POST", "/orders", raw=raw, headers={**auth_headers(), **(headers or {})})
    assert_error(response, status, code)


def test_validation_error_names_fields(api: Any) -> None:
    body = assert_error(create(api, status="CANCELED", extra=1), 400, "ValidationError")
    assert set(body["Fields"]) == {"status", "extra"}


def test_get_list_edit_cancel_flow(api: Any, clock: FakeClock) -> None:
    created = json.loads(create(api).body)
    got = call(api, "GET", "/orders/order-1", headers=auth_headers())
    assert got.status_code == 200 and json.loads(got.body) == created
    listed = json.loads(call(api, "GET", "/orders", headers=auth_headers()).body)
    assert listed == {"orders": [created]}
    edited = call(api, "PUT", "/orders/order-1", {**created, "totalAmount": 42.5}, headers=auth_headers())
    assert edited.status_code == 200
    doc = json.loads(edited.body)
    assert doc["totalAmount"] == 42.5 and doc["status"] == "PLACED" and doc["orderTime"] == created["orderTime"]
    canceled = call(api, "DELETE", "/orders/order-1", headers=auth_headers())
    assert canceled.status_code == 200 and json.loads(canceled.body)["status"] == "CANCELED"
    assert_error(call(api, "DELETE", "/orders/order-1", headers=auth_headers()), 400, "OrderNotPlaced")
    assert_error(call(api, "PUT", "/orders/order-1", {"totalAmount": 1}, headers=auth_headers()), 400, "OrderNotPlaced")


@pytest.mark.parametrize("change, code", [({"status": "ACKNOWLEDGED"}, "StatusChanged"),
                                          ({"orderTime": "2030-01-01T00:00:00Z"}, "OrderTimeChanged"),
                                          ({"userId": "user-b"}, "UserIdChanged"),
                                          ({"orderId": "order-2"}, "OrderIdChanged")])
def test_put_cannot_change_server_owned_fields(api: Any, change: Dict[str, Any], code: str) -> None:
    created = json.loads(create(api).body)
    assert_error(call(api, "PUT", "/orders/order-1", {**created, **change}, headers=auth_headers()), 400, code)
    assert json.loads(call(api, "GET", "/orders/order-1", headers=auth_headers()).body) == created


def test_cancel_window(api: Any, clock: FakeClock) -> None:
    create(api)
    clock.advance(minutes=10, seconds=1)
    assert_error(call(api, "DELETE", "/orders/order-1", headers=auth_headers()), 400, "CancelWindowExpired")


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/orders/order-1", None), ("PUT", "/orders/order-1", {"totalAmount": 1}),
    ("DELETE", "/orders/order-1", None)])
def test_other_users_order_is_404_like_a_missing_one(api: Any, method: str, path: str,
                                                     body: Optional[Dict[str, Any]]) -> None:
    create(api)
    assert_error(call(api, method, path, body, headers=auth_headers("user-b")), 404, "OrderNotFound")
    assert_error(call(api, method, path.replace("order-1", "nope"), body, headers=auth_headers()), 404, "OrderNotFound")
    bad = assert_error(call(api, method, path.replace("order-1", "bad%20id"), body, headers=auth_headers()), 400,
                       "ValidationError")
    assert bad["Message"] == "The order id in the path is invalid."
    assert bad["Fields"] == {"orderId": "must be 1-64 characters of letters, digits, '-' and '_'"}


def test_list_pagination_and_limits(api: Any) -> None:
    for i in range(3):
        create(api, orderId=f"o-{i}")
    create(api, sub="user-b", orderId="o-b")
    page = json.loads(call(api, "GET", "/orders?limit=2", headers=auth_headers()).body)
    assert [o["orderId"] for o in page["orders"]] == ["o-0", "o-1"]
    rest = json.loads(call(api, "GET", f"/orders?limit=2&nextToken={page['nextToken']}", headers=auth_headers()).body)
    assert [o["orderId"] for o in rest["orders"]] == ["o-2"] and "nextToken" not in rest
    assert_error(call(api, "GET", f"/orders?nextToken={page['nextToken']}", headers=auth_headers("user-b")), 400,
                 "InvalidNextToken")
    for limit in ("0", "101", "x", "-1"):
        assert_error(call(api, "GET", f"/orders?limit={limit}", headers=auth_headers()), 400, "InvalidParameter")
    assert len(json.loads(call(api, "GET", "/orders?limit=100", headers=auth_headers()).body)["orders"]) == 3


def test_acknowledge_admin_only(api: Any) -> None:
    create(api)
    admin = auth_headers("admin-1", groups=["apiAdmins"])
    assert_error(call(api, "POST", "/orders/order-1/acknowledge", {"userId": "user-a"}, headers=auth_headers()), 403)
    assert_error(call(api, "POST", "/orders/order-1/acknowledge", {}, headers=auth_headers()), 403)
    assert_error(call(api, "POST", "/orders/order-1/acknowledge", {"userId": "user-a"},
                      headers=auth_headers("x", groups=["notapiAdmins"])), 403)
    assert_error(call(api, "POST", "/orders/order-1/acknowledge", {"userId": "user-b"}, headers=admin), 404)
    assert_error(call(api, "POST", "/orders/order-1/acknowledge", {}, headers=admin), 400, "ValidationError")
    done = call(api, "POST", "/orders/order-1/acknowledge", {"userId": "user-a"}, headers=admin)
    assert done.status_code == 200 and json.loads(done.body)["status"] == "ACKNOWLEDGED"
    assert_error(call(api, "POST", "/orders/order-1/acknowledge", {"userId": "user-a"}, headers=admin), 400,
                 "OrderNotPlaced")
    assert_error(call(api, "DELETE", "/orders/order-1", headers=auth_headers()), 400, "OrderNotPlaced")


def test_dependency_failure_is_503_with_retry_after(api: Any, store: Any) -> None:
    store.fail_with = RuntimeError("idempotency table unreachable")
    response = create(api)
    assert_error(response, 503, "IdempotencyUnavailable")
    assert response.headers["Retry-After"] == "1"


NOT_NULL = "must not be null (leave it out instead)"


def optional_fields(model: Any) -> List[str]:
    return [name for name, (_, required) in model.properties.items() if not required]


def test_null_for_an_optional_field_is_a_400_naming_it(api: Any, orders: Any) -> None:
    """No field of the orders bodies is nullable: the document says a string (or a number...), so
    `"userId": null` is refused like any other wrong type, never taken as "absent"."""
    new_order, edit = orders.models.NEW_ORDER, orders.models.ORDER_EDIT
    assert not new_order.nullable and not edit.nullable and not orders.models.ACKNOWLEDGE.nullable
    assert optional_fields(new_order) == ["status", "userId"]
    for field in optional_fields(new_order):
        body = {**order_body(), field: None}
        error = assert_error(call(api, "POST", "/orders", body, headers=auth_headers()), 400, "ValidationError")
        assert error["Fields"] == {field: NOT_NULL}
    created = json.loads(create(api).body)
    for field in optional_fields(edit):
        body = {"totalAmount": 5, field: None} if field != "totalAmount" else {"restaurantId": 2, field: None}
        error = assert_error(call(api, "PUT", "/orders/order-1", body, headers=auth_headers()), 400, "ValidationError")
        assert error["Fields"] == {field: NOT_NULL}
    error = assert_error(call(api, "POST", "/orders/order-1/acknowledge", {"userId": None},
                              headers=auth_headers("admin", [tokens.ADMIN_GROUP])), 400, "ValidationError")
    assert error["Fields"] == {"userId": "is required"}
    assert json.loads(call(api, "GET", "/orders/order-1", headers=auth_headers()).body) == created


# -- access tokens: what AWS documents for a COGNITO_USER_POOLS authorizer, and the app's own answer --

def access_token(sub: str = "user-a", groups: Any = None) -> str:
    """A valid access token of the same pool and app client (`client_id`, no `aud`), signed like an ID token."""
    return tokens.token(sub=sub, groups=groups, token_use="access", scope="aws.cognito.signin.user.admin")


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_takes_an_id_token_and_refuses_an_access_token(api: Any, method: str, path: str) -> None:
    """Our methods have no authorization scopes, so the gateway validates an ID token (README, "Access
    tokens"): the same caller's access token is a 401, their ID token is not (the admin's, so that
    acknowledge too gets past its 403)."""
    create(api, sub="admin-1")
    body = {"userId": "admin-1"} if path.endswith("/acknowledge") else {"totalAmount": 1}
    refused = call(api, method, path, body, headers={"Authorization": access_token("admin-1", [tokens.ADMIN_GROUP])})
    assert_error(refused, 401, "Unauthorized")
    accepted = call(api, method, path, body if method != "POST" or path.endswith("/acknowledge") else order_body(),
                    headers=auth_headers("admin-1", [tokens.ADMIN_GROUP]))
    assert accepted.status_code == 200, accepted.body


@pytest.mark.parametrize("method, path", ROUTES)
def test_the_app_refuses_an_access_token_even_when_a_gateway_lets_it_through(
        orders: Any, repo: Any, clock: FakeClock, store: Any, method: str, path: str) -> None:
    """Behind a gateway that passes access tokens (an emulator that does, or a method given scopes by
    mistake) the app itself answers 401: an access token never acts as the user."""
    lenient = tokens.verifier(CognitoVerifier, JwksClient)
    lenient.allow_access_tokens = True
    client = StrictTestClient(orders.app.app, lenient, project_dir=app_dir("orders_app"))
    orders.app.root.install(orders.app.compose(repo=repo, clock=clock, idempotency_store=store))
    body = {"userId": "user-a"} if path.endswith("/acknowledge") else order_body()
    assert_error(call(client, method, path, body, headers={"Authorization": access_token()}), 401, "Unauthorized")
    assert not repo.items
