# GENERATED from chalicelib_shared/http.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""HTTP edges shared by both apps: strict body parsing, JSON responses, and the one place
where exceptions become HTTP responses (`error_response`, applied to every view by `api_view`).
"""
import functools
import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from chalice import Chalice, Response
from chalice.app import Request

from .errors import ApiError, BadRequest, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType, error_body
from .jsonutil import JsonError, dumps, loads_strict

JSON_TYPE = "application/json"
MAX_BODY_BYTES = 64 * 1024

_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "LimitExceededException",
}
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)

_log = logging.getLogger(__name__)


def current_request(app: Chalice) -> Request:
    """The request a view is serving (Chalice types `current_request` Optional: None outside a request)."""
    request = app.current_request
    if request is None:
        raise RuntimeError("current_request is only set while a view runs")
    return request


def json_response(body: Any, status: int = 200, headers: Optional[Mapping[str, str]] = None) -> Response:
    all_headers: Dict[str, Union[str, List[str]]] = {"Content-Type": JSON_TYPE}
    if headers:
        all_headers.update(headers)
    return Response(body=dumps(body), status_code=status, headers=all_headers)


def as_api_error(exc: BaseException) -> ApiError:
    """Classify any exception: client mistakes keep their code, dependency trouble is a 503,
    anything else is a bug (500, no details leak)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _UNAVAILABLE_CODES:
            return ServiceUnavailable(code="DependencyThrottled")
    if isinstance(exc, _UNREACHABLE):
        return ServiceUnavailable(code="DependencyUnavailable")
    if isinstance(exc, BotoCoreError) and "timeout" in type(exc).__name__.lower():
        return ServiceUnavailable(code="DependencyUnavailable")
    return ApiError("An internal error occurred.")


def error_response(exc: BaseException, logger: Any = None) -> Response:
    err = as_api_error(exc)
    log = logger or _log
    if err.status >= 500:
        if err is exc:
            log.warning("request failed with %s: %s", err.code, err.message)
        elif isinstance(err, ServiceUnavailable):
            log.warning("dependency unavailable: %s", type(exc).__name__)
        else:
            log.exception("unhandled error")
    return json_response(err.body(), status=err.status, headers=err.headers)


def api_view(logger: Any = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view so that every exception becomes a JSON error response (never Chalice's
    plain 500, never a stack trace)."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - this is the one mapping point
                return error_response(exc, logger)
        return wrapper
    return decorate


def _is_json_type(content_type: Optional[str]) -> bool:
    if content_type is None:
        return True  # API Gateway and Chalice treat a missing Content-Type as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON_TYPE or (media.startswith("application/") and media.endswith("+json"))


def parse_json_object(request: Any, max_bytes: int = MAX_BODY_BYTES) -> Dict[str, Any]:
    """The request body as a dict, parsed strictly (see jsonutil.loads_strict)."""
    if not _is_json_type(request.headers.get("content-type")):
        raise UnsupportedMediaType("Content-Type must be application/json.")
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The body must be at most {max_bytes} bytes.")
    if not raw.strip():
        raise BadRequest("A JSON object body is required.", code="InvalidJson")
    try:
        value = loads_strict(raw)
    except JsonError as exc:
        raise BadRequest(f"Invalid JSON body: {exc}", code="InvalidJson") from None
    if not isinstance(value, dict):
        raise BadRequest("The body must be a JSON object.", code="InvalidJson")
    return value


def query_int(params: Optional[Mapping[str, str]], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = (params or {}).get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"{name} must be an integer between {minimum} and {maximum}.",
                         code="InvalidParameter")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be an integer between {minimum} and {maximum}.",
                         code="InvalidParameter")
    return value


__all__ = ["JSON_TYPE", "api_view", "as_api_error", "error_body", "error_response",
           "json_response", "parse_json_object", "query_int"]
