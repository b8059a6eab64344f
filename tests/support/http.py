"""One way to call either API and to check its errors, in-process or over HTTP.

`call(target, method, path, body, who=...)` sends one JSON request. `target` is either a Chalice
test client (the unit suites' `StrictTestClient`; the answer is its response, with the parsed JSON
body as `.data`) or a base URL (a stack's `users_url` / `orders_url`; the answer is a `requests`
response). `who` is the caller: None (no Authorization header), a token, or anything with an
`id_token` (a stack's `User`).

`assert_error(response, status, code)` checks the services' JSON error shape on either kind of
response and returns the parsed body.

For table-driven suites that judge many answers at once: `answer(...)` is `call` whose transport
failures become an `Answer` with `error` set instead of an exception, and `raw_answer(...)` sends
exact bytes (`tests.support.attacks.raw_request`) the same way.
"""
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlencode

import requests

from tests.support import attacks

JSON = "application/json"
TIMEOUT = 15.0  # seconds a request over HTTP may take before it counts as a transport failure


def authorization(who: Any) -> Optional[str]:
    """The Authorization header value for `who`: None, a token, or an object with `id_token`."""
    if who is None or isinstance(who, str):
        return who
    return str(who.id_token)


def call(target: Any, method: str, path: str = "", body: Any = None, *, who: Any = None,
         raw: Union[bytes, str, None] = None, headers: Optional[Mapping[str, str]] = None,
         params: Optional[Mapping[str, Any]] = None, content_type: Optional[str] = JSON,
         timeout: float = TIMEOUT) -> Any:
    """Send `method path` to `target`: `body` as JSON, or `raw` exactly; Content-Type
    `content_type` (None: no such header), then `headers` over the defaults."""
    all_headers: Dict[str, str] = {}
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    token = authorization(who)
    if token is not None:
        all_headers["Authorization"] = token
    all_headers.update(headers or {})
    data = raw.encode() if isinstance(raw, str) else raw
    if data is None and body is not None:
        data = json.dumps(body).encode()
    if hasattr(target, "http"):  # a Chalice test client
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        response = target.http.request(method, path, headers=all_headers, body=data or b"")
        response.data = json.loads(response.body) if response.body else None
        return response
    return requests.request(method, str(target) + path, headers=all_headers, data=data, params=params,
                            timeout=timeout)


def body_bytes(response: Any) -> bytes:
    """The body of a `requests` response or of a Chalice test client's response."""
    return response.content if isinstance(response, requests.Response) else response.body


def assert_error(response: Any, status: int, code: Optional[str] = None) -> Dict[str, Any]:
    """`response` is a `status` answer in the services' error shape: Content-Type application/json,
    a JSON object with a string `Code` (equal to `code` when given) and a non-empty string
    `Message`, and nothing but Code, Message and Fields. Returns the parsed body."""
    raw = body_bytes(response)
    assert response.status_code == status, (response.status_code, raw[:500])
    assert response.headers["Content-Type"] == JSON, response.headers["Content-Type"]
    body = json.loads(raw)
    assert isinstance(body, dict), body
    assert set(body) <= set(attacks.ERROR_KEYS), body
    assert isinstance(body.get("Code"), str), body
    assert isinstance(body.get("Message"), str) and body["Message"], body
    if code:
        assert body["Code"] == code, body
    return body


@dataclass
class Answer:
    """What came back, or why nothing did (`error`: a dropped connection, a timeout)."""

    status: int
    content_type: str
    body: bytes
    error: Optional[str] = None

    def json(self) -> Any:
        return json.loads(self.body)


def answer(target: str, method: str, path: str = "", body: Any = None, **kwargs: Any) -> Answer:
    """`call(target, ...)` over HTTP, its transport failure an Answer with `error` set."""
    try:
        r = call(target, method, path, body, **kwargs)
    except requests.RequestException as exc:
        return Answer(0, "", b"", f"{type(exc).__name__}: {exc}")
    return Answer(r.status_code, r.headers.get("Content-Type", ""), r.content)


def raw_answer(base_url: str, method: str, path: Union[bytes, str], headers: List[Tuple[bytes, bytes]],
               body: bytes = b"", timeout: float = TIMEOUT) -> Answer:
    """Exactly these bytes (`attacks.raw_request`: no client-side normalisation or re-encoding),
    a transport failure an Answer with `error` set."""
    try:
        status, response_headers, data = attacks.raw_request(base_url, method, path, headers, body, timeout=timeout)
    except (OSError, ValueError, IndexError) as exc:
        return Answer(0, "", b"", f"{type(exc).__name__}: {exc}")
    return Answer(status, response_headers.get("content-type", ""), data)
