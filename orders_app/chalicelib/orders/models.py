"""Order input: validation and normalisation by hand (no pydantic: it would cost ~60 ms of cold start).

Every parser takes the strictly parsed JSON body (numbers are int or Decimal, never float) and
returns normalised values, or raises `ValidationFailed` naming each offending field. Numbers are
normalised (integral values become int, others `Decimal.normalize()`d), so an order renders the
same from the request, from DynamoDB and from an idempotency replay.
"""
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from chalicelib.shared.claims import groups_from_claim
from chalicelib.shared.errors import BadRequest, Unauthorized, ValidationFailed
from chalicelib.shared.jsonutil import dumps

PLACED = "PLACED"
ACKNOWLEDGED = "ACKNOWLEDGED"
CANCELED = "CANCELED"

ORDER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_ITEMS = 100
MAX_QUANTITY = 1000
MAX_AMOUNT = Decimal("1000000000")  # a sanity bound on prices and totals
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 200

EDITABLE_FIELDS = ("restaurantId", "orderItems", "totalAmount")
# Server-owned fields a client may echo back in an edit, and the code for changing each.
SERVER_OWNED_CODES = {
    "orderId": "OrderIdChanged",
    "userId": "UserIdChanged",
    "status": "StatusChanged",
    "orderTime": "OrderTimeChanged",
    "updatedAt": "UpdatedAtChanged",
}
_ITEM_FIELDS = ("id", "name", "price", "quantity")

Number = Union[int, Decimal]


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of a request."""

    sub: str
    is_admin: bool = False


def caller_from_claims(claims: Optional[Mapping[str, Any]], admin_group: str) -> Caller:
    """The caller from the Cognito authorizer's claims (API Gateway has verified the token;
    claims arrive as strings there and as JSON types locally)."""
    sub = (claims or {}).get("sub")
    if not isinstance(sub, str) or not sub:
        # The authorizer guarantees a sub; without one we must not guess an identity.
        raise Unauthorized("Unauthorized")
    return Caller(sub=sub, is_admin=admin_group in groups_from_claim((claims or {}).get("cognito:groups")))


@dataclass(frozen=True)
class NewOrder:
    """A validated create request (the caller is not part of it)."""

    order_id: str
    restaurant_id: Union[int, str]
    order_items: Tuple[Mapping[str, Any], ...]
    total_amount: Number

    def canonical(self) -> Dict[str, Any]:
        return {"orderId": self.order_id, "restaurantId": self.restaurant_id,
                "orderItems": [dict(item) for item in self.order_items], "totalAmount": self.total_amount}

    def request_hash(self) -> str:
        """Fingerprint of the normalised order: equivalent bodies (status PLACED present or
        absent, 9.9 vs 9.90, key order) hash the same; any real difference does not."""
        return hashlib.sha256(dumps(self.canonical()).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OrderEdit:
    """A validated edit: the fields to set, and the server-owned values the client echoed,
    which must still hold at write time."""

    changes: Mapping[str, Any]
    expected: Mapping[str, Any]


def _normal_number(value: Number) -> Number:
    if isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _money(value: Any) -> Tuple[Optional[Number], Optional[str]]:
    reason = "must be a number >= 0 with at most 2 decimals"
    if not _is_number(value):
        return None, reason
    d = Decimal(value)
    if not d.is_finite() or d < 0 or d > MAX_AMOUNT or d != d.quantize(Decimal("0.01")):
        return None, reason
    return _normal_number(value), None


def _identifier(value: Any) -> Tuple[Optional[Union[int, str]], Optional[str]]:
    reason = f"must be an integer or a string of 1-{MAX_ID_LENGTH} characters"
    if isinstance(value, str):
        return (value, None) if 0 < len(value) <= MAX_ID_LENGTH else (None, reason)
    if _is_number(value) and Decimal(value) == Decimal(value).to_integral_value() \
            and abs(Decimal(value)) < Decimal(10) ** 18:
        return int(value), None
    return None, reason


def valid_order_id(value: Any) -> bool:
    return isinstance(value, str) and ORDER_ID_PATTERN.fullmatch(value) is not None


def check_order_id(value: Any, field: str = "orderId") -> str:
    if not valid_order_id(value):
        raise ValidationFailed({field: "must be 1-64 characters of letters, digits, '-' and '_'"})
    return value


def _items(value: Any, errors: Dict[str, str]) -> Tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ITEMS:
        errors["orderItems"] = f"must be a list of 1-{MAX_ITEMS} items"
        return ()
    items: List[Dict[str, Any]] = []
    for i, raw in enumerate(value):
        where = f"orderItems[{i}]"
        if not isinstance(raw, dict):
            errors[where] = "must be an object with id, name, price and quantity"
            continue
        for name in raw:
            if name not in _ITEM_FIELDS:
                errors[f"{where}.{name}"] = "unknown field"
        item: Dict[str, Any] = {}
        ident, why = _identifier(raw.get("id"))
        if why:
            errors[f"{where}.id"] = why
        item["id"] = ident
        name = raw.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH or not name.strip():
            errors[f"{where}.name"] = f"must be a non-blank string of at most {MAX_NAME_LENGTH} characters"
        item["name"] = name
        price, why = _money(raw.get("price"))
        if why:
            errors[f"{where}.price"] = why
        item["price"] = price
        quantity = raw.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
            errors[f"{where}.quantity"] = f"must be an integer between 1 and {MAX_QUANTITY}"
        item["quantity"] = quantity
        items.append(item)
    return tuple(items)


def _editable(body: Mapping[str, Any], errors: Dict[str, str], required: bool) -> Dict[str, Any]:
    """Validate restaurantId, orderItems and totalAmount (each required when creating)."""
    values: Dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name not in body:
            if required:
                errors[name] = "is required"
            continue
        raw = body[name]
        if name == "restaurantId":
            values[name], why = _identifier(raw)
        elif name == "totalAmount":
            values[name], why = _money(raw)
        else:
            values[name], why = list(_items(raw, errors)), None
        if why:
            errors[name] = why
    return values


def parse_new_order(body: Mapping[str, Any], caller: Caller) -> NewOrder:
    """POST /orders body. `status` may be PLACED (ignored) and `userId` may name the caller."""
    errors: Dict[str, str] = {}
    for name in body:
        if name not in EDITABLE_FIELDS and name not in ("orderId", "status", "userId"):
            errors[name] = "unknown field"
    if not valid_order_id(body.get("orderId")):
        errors["orderId"] = "is required: 1-64 characters of letters, digits, '-' and '_'"
    if "status" in body and body["status"] != PLACED:
        errors["status"] = "a new order is always PLACED; omit status or send PLACED"
    if "userId" in body and body["userId"] != caller.sub:
        errors["userId"] = "must be omitted or be the caller's own id"
    values = _editable(body, errors, required=True)
    if errors:
        raise ValidationFailed(errors)
    return NewOrder(order_id=body["orderId"], restaurant_id=values["restaurantId"],
                    order_items=tuple(values["orderItems"]), total_amount=values["totalAmount"])


def parse_edit(body: Mapping[str, Any], order_id: str, caller: Caller) -> OrderEdit:
    """PUT /orders/{orderId} body: any of the editable fields; server-owned fields only unchanged."""
    errors: Dict[str, str] = {}
    for name in body:
        if name not in EDITABLE_FIELDS and name not in SERVER_OWNED_CODES:
            errors[name] = "unknown field"
    expected: Dict[str, Any] = {}
    for name in ("status", "orderTime", "updatedAt"):
        if name in body:
            if isinstance(body[name], str):
                expected[name] = body[name]
            else:
                errors[name] = "must be a string (and unchanged)"
    changes = _editable(body, errors, required=False)
    if not changes and not errors:
        errors["body"] = "send at least one of " + ", ".join(EDITABLE_FIELDS)
    if errors:
        raise ValidationFailed(errors)
    # The key fields are known without a read: the path names the order, the token the owner.
    if "orderId" in body and body["orderId"] != order_id:
        raise BadRequest("orderId cannot be changed.", code=SERVER_OWNED_CODES["orderId"])
    if "userId" in body and body["userId"] != caller.sub:
        raise BadRequest("userId cannot be changed.", code=SERVER_OWNED_CODES["userId"])
    return OrderEdit(changes=changes, expected=expected)


def parse_acknowledge(body: Mapping[str, Any]) -> str:
    """POST /orders/{orderId}/acknowledge body: {"userId": "<owner>"}."""
    errors = {name: "unknown field" for name in body if name != "userId"}
    owner = body.get("userId")
    if not isinstance(owner, str) or not 0 < len(owner) <= 128:
        errors["userId"] = "is required: the owner's user id"
    if errors:
        raise ValidationFailed(errors)
    return owner


_DOCUMENT_ORDER = ("orderId", "userId", "restaurantId", "orderItems", "totalAmount", "status", "orderTime",
                   "updatedAt")


def present(document: Mapping[str, Any]) -> Dict[str, Any]:
    """The document with its keys in one fixed order (DynamoDB does not keep a map's key order),
    so an order renders byte for byte the same whether it was just written, replayed or read."""
    out = {name: document[name] for name in _DOCUMENT_ORDER if name in document}
    out.update((name, document[name]) for name in sorted(document) if name not in out)
    items = out.get("orderItems")
    if isinstance(items, list):
        out["orderItems"] = [
            {**{k: item[k] for k in _ITEM_FIELDS if k in item}, **{k: item[k] for k in sorted(item)
                                                                   if k not in _ITEM_FIELDS}}
            if isinstance(item, dict) else item for item in items]
    return out
