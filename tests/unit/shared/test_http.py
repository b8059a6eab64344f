import json
from typing import Any, Dict, Optional, Tuple

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from chalicelib_shared.errors import ApiError, Conflict, NotFound, ValidationFailed
from chalicelib_shared.http import api_view, parse_json_object, query_int


class Request:
    def __init__(self, body: bytes, content_type: Optional[str] = "application/json") -> None:
        self.raw_body = body
        self.headers = {} if content_type is None else {"content-type": content_type}


def call(exc: Exception) -> Tuple[int, Any, Dict[str, Any]]:
    @api_view()
    def view() -> Any:
        raise exc
    response = view()
    return response.status_code, json.loads(response.body), response.headers


@pytest.mark.parametrize("exc, status, code", [
    (NotFound("no such order", code="OrderNotFound"), 404, "OrderNotFound"),
    (Conflict("exists"), 409, "Conflict"),
    (ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"), 503,
     "DependencyThrottled"),
    (EndpointConnectionError(endpoint_url="http://x"), 503, "DependencyUnavailable"),
    (ReadTimeoutError(endpoint_url="http://x"), 503, "DependencyUnavailable"),
    (ClientError({"Error": {"Code": "ValidationException"}}, "PutItem"), 500, "InternalServerError"),
    (KeyError("boom"), 500, "InternalServerError"),
])
def test_every_exception_becomes_a_json_error(exc: Exception, status: int, code: str) -> None:
    got_status, body, headers = call(exc)
    assert (got_status, body["Code"]) == (status, code)
    assert set(body) <= {"Code", "Message", "Fields"}
    assert headers["Content-Type"] == "application/json"
    if status == 503:
        assert headers["Retry-After"] == "1"
    if status == 500:
        assert "boom" not in body["Message"] and "Traceback" not in body["Message"]


def test_validation_error_lists_fields() -> None:
    status, body, _ = call(ValidationFailed({"name": "is required"}))
    assert status == 400 and body["Fields"] == {"name": "is required"}


@pytest.mark.parametrize("body, content_type, status", [
    (b'{"a": 1}', "text/plain", 415),
    (b'{"a": 1}', "application/x-www-form-urlencoded", 415),
    (b"x" * 70000, "application/json", 413),
    (b"", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"text"', "application/json", 400),
    (b"{nope", "application/json", 400),
    (b'{"a": NaN}', "application/json", 400),
])
def test_body_parsing_rejects_with_the_right_status(body: bytes, content_type: Optional[str], status: int) -> None:
    with pytest.raises(ApiError) as info:
        parse_json_object(Request(body, content_type))
    assert info.value.status == status


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json", None])
def test_json_content_types_accepted(content_type: Optional[str]) -> None:
    assert parse_json_object(Request(b'{"a": 1}', content_type)) == {"a": 1}


@pytest.mark.parametrize("raw", ["0", "101", "-1", "abc", "1.5", "\u0661", "9" * 20, ""])
def test_query_int_out_of_range_is_400(raw: str) -> None:
    with pytest.raises(ApiError) as info:
        query_int({"limit": raw}, "limit", 50, 1, 100)
    assert info.value.status == 400


def test_query_int_default_and_value() -> None:
    assert query_int(None, "limit", 50, 1, 100) == 50
    assert query_int({"limit": "7"}, "limit", 50, 1, 100) == 7
