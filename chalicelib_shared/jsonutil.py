"""Strict JSON in, exact JSON out.

`loads_strict` parses a request body the way DynamoDB can store it: numbers become `int` or
`Decimal` (never float); NaN/Infinity, numbers outside DynamoDB's range, lone surrogates,
duplicate keys and absurd nesting are rejected. `dumps` renders Decimals exactly (19.97 stays
19.97, never "19.97" or 19.969999...), so a response rendered now and one rendered later from
storage are byte-identical.
"""
import json
from decimal import Context, Decimal, InvalidOperation
from json.encoder import encode_basestring_ascii
from typing import Any, Dict, List, Tuple

MAX_DEPTH = 32
# DynamoDB numbers: up to 38 significant digits, magnitude between 1E-130 and 9.99..E+125.
_MAX_DIGITS = 38
_MIN_EXP = -130
_MAX_ADJUSTED = 125
# Decimal.normalize() rounds to the context's precision (28 by default): use one that cannot round.
_EXACT = Context(prec=200)


class JsonError(ValueError):
    """The text is not JSON we accept; the message says why, for a 400."""


def _reject_constant(name: str) -> Any:
    raise JsonError(f"{name} is not a valid JSON number")


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    obj: Dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise JsonError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def check_number(value: Any) -> None:
    """Raise JsonError unless `value` can be stored as a DynamoDB number."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise JsonError("not a number")
    d = value if isinstance(value, Decimal) else Decimal(value)
    if not d.is_finite():
        raise JsonError("numbers must be finite")
    if d.is_zero():
        return
    d = d.normalize(_EXACT)
    _, digits, exponent = d.as_tuple()
    if len(digits) > _MAX_DIGITS:
        raise JsonError("numbers may have at most 38 significant digits")
    if d.adjusted() > _MAX_ADJUSTED or int(exponent) < _MIN_EXP:
        raise JsonError("number out of range")


def _parse_float(text: str) -> Decimal:
    try:
        d = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the JSON scanner only passes valid numbers
        raise JsonError(f"invalid number {text[:40]!r}") from None
    check_number(d)
    return d


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise JsonError("numbers may have at most 38 significant digits")
    return int(text)


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise JsonError(f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonError("strings must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, depth + 1)
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)


def loads_strict(raw: Any) -> Any:
    """Parse a request body (bytes or str). Raises JsonError with a client-safe message."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonError("the body is not valid UTF-8") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_float=_parse_float, parse_int=_parse_int,
                           parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except JsonError:
        raise
    except RecursionError:
        raise JsonError(f"nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # json.JSONDecodeError
        raise JsonError(f"the body is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    _walk(value, 0)
    return value


def render_decimal(d: Decimal) -> str:
    """A Decimal as a JSON number, in its shortest exact form (Decimal('1E+2') -> 100)."""
    if not d.is_finite():
        raise ValueError("cannot render a non-finite number")
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(_EXACT), "f")


def _encode(value: Any, out: List[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring_ascii(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(render_decimal(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(encode_basestring_ascii(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        out.append("[")
        for i, item in enumerate(items):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("cannot render a non-finite number")
        out.append(repr(value))
    else:
        raise TypeError(f"cannot render {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """Render `value` as compact JSON; Decimals exactly, sets (DynamoDB string sets) as sorted lists."""
    out: List[str] = []
    _encode(value, out)
    return "".join(out)
