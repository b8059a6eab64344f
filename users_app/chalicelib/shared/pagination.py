# GENERATED from chalicelib_shared/pagination.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Pages of a DynamoDB read and their opaque `nextToken`s, shared by both services.

A repository returns a `Page`: the items and the key to continue from. A token is that key
(string attributes only) as url-safe base64 JSON. Decoding is strict: a token that does not decode
to exactly the expected key attributes, or whose fixed attributes (the caller's partition key)
differ from the caller's, is a 400: a client can never page into another user's data, and nothing
malformed reaches DynamoDB.
"""
import base64
import binascii
import json
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

from .errors import BadRequest

MAX_TOKEN_LENGTH = 2048
MAX_ATTRIBUTE_LENGTH = 1024  # bytes: DynamoDB's limit for a sort key


class Page(NamedTuple):
    """One page of items and `last_key`, the key (string attributes) to continue after; None when no
    more items follow. A tuple too: `items, last_key = repo.scan(...)`."""

    items: List[Dict[str, Any]]
    last_key: Optional[Dict[str, str]]


class InvalidToken(BadRequest):
    code = "InvalidNextToken"

    def __init__(self) -> None:
        super().__init__("nextToken is invalid; use the value from the previous page unchanged.")


def encode_token(key: Mapping[str, str]) -> str:
    raw = json.dumps(dict(key), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str, attributes: Sequence[str],
                 fixed: Optional[Mapping[str, str]] = None,
                 valid: Optional[Mapping[str, Callable[[str], bool]]] = None) -> Dict[str, str]:
    """Decode `token` into a key with exactly `attributes`; each of `fixed` must match, and each
    attribute in `valid` must pass its check (a key we could never have issued is not sent on to
    DynamoDB, which would answer a too-long or malformed key with an error, i.e. a 500)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidToken() from None
    if not isinstance(key, dict) or set(key) != set(attributes):
        raise InvalidToken()
    for value in key.values():
        if not isinstance(value, str) or not 0 < len(value.encode("utf-8", "replace")) <= MAX_ATTRIBUTE_LENGTH:
            raise InvalidToken()
    for name, expected in (fixed or {}).items():
        if key.get(name) != expected:
            raise InvalidToken()
    for name, check in (valid or {}).items():
        if not check(key[name]):
            raise InvalidToken()
    return key
