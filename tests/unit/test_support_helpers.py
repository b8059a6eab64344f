"""The shared helpers the suites lean on (tests/support). Each replaced several copies that checked
slightly different things, and hundreds of tests now rely on one of them: a helper that checked less
than it says would loosen every one of those tests, so what they check and send is pinned here."""
import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests
from chalice.test import HTTPResponse

from chalicelib_shared.jwks import JwksClient
from chalicelib_shared.verifier import CognitoVerifier, TokenError
from tests.support import http, tokens
from tests.support.clock import FakeClock, FakeMonotonic
from tests.support.orders import order_body
from tests.support.stack import User

Sent = Tuple[str, str, Dict[str, str], Optional[bytes], Any]  # method, url, headers, body, params
ERROR = {"Code": "ValidationError", "Message": "The request body is invalid.", "Fields": {"name": "is required"}}


def response(kind: str, status: int, body: Any, content_type: str = "application/json") -> Any:
    """`body` (JSON-encoded unless bytes) as a Chalice test client's response or as a requests one."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if kind == "client":
        return HTTPResponse(body=raw, headers={"Content-Type": content_type}, status_code=status)
    answer = requests.Response()
    answer.status_code = status
    answer.headers["Content-Type"] = content_type
    answer._content = raw
    return answer


@pytest.mark.parametrize("kind", ["client", "http"])
def test_assert_error_accepts_the_error_shape_and_returns_the_body(kind: str) -> None:
    assert http.assert_error(response(kind, 400, ERROR), 400, "ValidationError") == ERROR
    assert http.assert_error(response(kind, 401, {"Code": "Unauthorized", "Message": "No."}), 401) == \
        {"Code": "Unauthorized", "Message": "No."}


NOT_THE_ERROR_SHAPE: Dict[str, Tuple[int, Any, str]] = {
    "another status": (401, ERROR, "application/json"),
    "content type with a parameter": (400, ERROR, "application/json; charset=utf-8"),
    "content type not json": (400, ERROR, "text/plain"),
    "body not json": (400, b"Bad request", "application/json"),
    "body not an object": (400, [ERROR], "application/json"),
    "no Code": (400, {"Message": "m"}, "application/json"),
    "Code not a string": (400, {"Code": 400, "Message": "m"}, "application/json"),
    "no Message": (400, {"Code": "ValidationError"}, "application/json"),
    "empty Message": (400, {"Code": "ValidationError", "Message": ""}, "application/json"),
    "another key": (400, {**ERROR, "Trace": "..."}, "application/json"),
    "another code": (400, {"Code": "InvalidJson", "Message": "m"}, "application/json"),
}


@pytest.mark.parametrize("case", sorted(NOT_THE_ERROR_SHAPE))
@pytest.mark.parametrize("kind", ["client", "http"])
def test_assert_error_refuses_anything_else(kind: str, case: str) -> None:
    status, body, content_type = NOT_THE_ERROR_SHAPE[case]
    with pytest.raises((AssertionError, ValueError)):
        http.assert_error(response(kind, status, body, content_type), 400, "ValidationError")


class RecordingClient:
    """What a Chalice test client is given (`call` sees a test client by its `http` attribute)."""

    def __init__(self) -> None:
        self.http = self
        self.requests: List[Tuple[str, str, Dict[str, str], bytes]] = []

    def request(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> HTTPResponse:
        self.requests.append((method, path, dict(headers), body))
        return HTTPResponse(body=b'{"ok": true}', headers={"Content-Type": "application/json"}, status_code=200)


def sent_over_http(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Sent:
    """What `call` hands to requests for a PUT /users/u-1 with `kwargs`."""
    seen: List[Sent] = []

    def fake_request(method: str, url: str, headers: Dict[str, str], data: Optional[bytes], params: Any,
                     timeout: float) -> requests.Response:
        seen.append((method, url, dict(headers), data, params))
        return response("http", 200, {"ok": True})
    monkeypatch.setattr(requests, "request", fake_request)
    http.call("http://127.0.0.1:1", "PUT", "/users/u-1", **kwargs)
    return seen[0]


def test_call_sends_one_request_the_same_way_to_a_test_client_and_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    user = User("a@example.com", "pw", "u-1", "id-token-of-u-1", "access-token")
    client = RecordingClient()
    reply = http.call(client, "PUT", "/users/u-1", {"name": "Ada"}, who=user)
    assert reply.data == {"ok": True}  # a test client's answer carries its parsed body
    expected_headers = {"Content-Type": "application/json", "Authorization": "id-token-of-u-1"}
    assert client.requests == [("PUT", "/users/u-1", expected_headers, b'{"name": "Ada"}')]
    assert sent_over_http(monkeypatch, body={"name": "Ada"}, who=user) == \
        ("PUT", "http://127.0.0.1:1/users/u-1", expected_headers, b'{"name": "Ada"}', None)


def test_call_sends_raw_bytes_headers_and_no_content_type_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    client = RecordingClient()
    http.call(client, "PUT", "/users/u-1", raw="[]", who="a-token", content_type=None, headers={"X-Extra": "1"})
    http.call(client, "PUT", "/users/u-1", headers={"Content-Type": "text/plain"})
    assert client.requests == [("PUT", "/users/u-1", {"Authorization": "a-token", "X-Extra": "1"}, b"[]"),
                               ("PUT", "/users/u-1", {"Content-Type": "text/plain"}, b"")]
    assert sent_over_http(monkeypatch, raw=b"x", who="", params={"limit": 1}) == \
        ("PUT", "http://127.0.0.1:1/users/u-1", {"Content-Type": "application/json", "Authorization": ""}, b"x",
         {"limit": 1})


def test_fake_clocks_move_only_when_told() -> None:
    clock = FakeClock(datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc))
    clock.advance(minutes=9, seconds=59)
    assert clock() == datetime(2024, 5, 1, 10, 9, 59, tzinfo=timezone.utc) == clock()
    monotonic = FakeMonotonic()
    monotonic.now += 0.5
    assert monotonic() == 1000.5


def test_order_body_is_the_workshop_order_with_overrides() -> None:
    assert order_body() == {"orderId": "order-1", "restaurantId": 1, "totalAmount": 19.97,
                            "orderItems": [{"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1},
                                           {"id": 2, "name": "Pizza - SMALL", "price": 4.99, "quantity": 2}]}
    assert order_body("o-2", totalAmount=5, restaurantId=None) == {**order_body("o-2", restaurantId=None),
                                                                   "totalAmount": 5}
    assert "restaurantId" not in order_body(restaurantId=None)


def test_id_tokens_carry_the_subject_and_groups_and_a_foreign_key_is_not_in_the_jwks() -> None:
    verifier = tokens.verifier(CognitoVerifier, JwksClient)
    identity = verifier.verify(tokens.id_token("u-1", [tokens.ADMIN_GROUP]))
    assert (identity.sub, identity.groups) == ("u-1", (tokens.ADMIN_GROUP,))
    with pytest.raises(TokenError) as info:
        verifier.verify(tokens.id_token("u-1", foreign_key=True))
    assert info.value.reason == "bad_signature"
