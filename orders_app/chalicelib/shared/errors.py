# GENERATED from chalicelib_shared/errors.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Error types both services raise, each carrying its HTTP status and machine code.

The mapping to HTTP lives here and in `http.error_response`; nothing else decides a status code.
"""
from typing import Any, Dict, Mapping, Optional


class ApiError(Exception):
    """An error a client sees: `{"Code": ..., "Message": ...}` (+ `Fields` for validation)."""

    status = 500
    code = "InternalServerError"

    def __init__(self, message: str, code: Optional[str] = None,
                 fields: Optional[Mapping[str, str]] = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = dict(fields) if fields else None
        self.headers = dict(headers) if headers else {}

    def body(self) -> Dict[str, Any]:
        return error_body(self.code, self.message, self.fields)


class BadRequest(ApiError):
    status = 400
    code = "BadRequest"


class ValidationFailed(BadRequest):
    """Input that parsed but broke a rule; `fields` maps each offending field to why."""

    code = "ValidationError"

    def __init__(self, fields: Mapping[str, str], message: str = "The request body is invalid.") -> None:
        super().__init__(message, fields=fields)


class Unauthorized(ApiError):
    status = 401
    code = "Unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "Forbidden"


class NotFound(ApiError):
    status = 404
    code = "NotFound"


class Conflict(ApiError):
    status = 409
    code = "Conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "PayloadTooLarge"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "UnsupportedMediaType"


class ServiceUnavailable(ApiError):
    """A dependency is throttling, slow or down: the client should retry later."""

    status = 503
    code = "ServiceUnavailable"

    def __init__(self, message: str = "The service is temporarily unavailable, retry shortly.",
                 code: Optional[str] = None, retry_after: int = 1) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after)})


def error_body(code: str, message: str, fields: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {"Code": code, "Message": message}
    if fields:
        body["Fields"] = dict(fields)
    return body
