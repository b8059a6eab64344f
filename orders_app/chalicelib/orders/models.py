"""What the orders API accepts, declared once with the shared schema module: the fields of an order
and its statuses, the stored time format, the request bodies and their parsed forms, the rule for
server-owned fields in an edit, the path's `{orderId}` and the list limits. The same definitions
validate requests and describe them in the OpenAPI document (no pydantic: it would cost ~60 ms of
cold start, docs/hand-rolled.md); render.py builds the order document's declaration from these fields.

No field is nullable: `null` for an optional field is a 400 naming it (leave the field out instead),
for a required one "is required".

Every parser takes the strictly parsed JSON body (numbers are int or Decimal, never float) and
returns normalised values, or raises `ValidationFailed` naming each offending field. Numbers are
normalised (integral values become int, others `Decimal.normalize()`d), so an order renders the
same from the request, from DynamoDB and from an idempotency replay.
"""
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Dict, Mapping, Sequence, Tuple, Union

from chalicelib.shared.caller import Caller
from chalicelib.shared.errors import BadRequest, ValidationFailed
from chalicelib.shared.jsonutil import dumps
from chalicelib.shared.schema import (
    NONBLANK_TEXT,
    AnyOf,
    Array,
    Enum,
    Integer,
    Invalid,
    Number,
    Object,
    Required,
    String,
    Text,
)

PLACED = "PLACED"
ACKNOWLEDGED = "ACKNOWLEDGED"
CANCELED = "CANCELED"
STATUSES = (PLACED, ACKNOWLEDGED, CANCELED)

LIST_DEFAULT_LIMIT = 50  # GET /orders?limit=1..LIST_MAX_LIMIT
LIST_MAX_LIMIT = 100

MAX_ITEMS = 100
MAX_QUANTITY = 1000
MAX_AMOUNT = Decimal("1000000000")  # a sanity bound on prices and totals
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 200

# Stored times (orderTime, updatedAt): UTC to the second, so that such strings sort like the times
# they name (the cancel window is a string comparison in the write's condition).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME = Text(pattern=r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")  # what TIME_FORMAT writes

EDITABLE_FIELDS = ("restaurantId", "orderItems", "totalAmount")
# The rule for server-owned fields in an edit, all of it in this module: a client may send them back
# (the workshop's client does), but only unchanged. The key fields are known from the path and the
# token, so they are checked before any write (`OrderEdit.require_unchanged_keys`); the fields only the
# stored order knows become conditions of the one write (`OrderEdit.expected`), and when that write
# fails, `OrderEdit.require_unchanged_state` names the first one that changed. Each change is a 400
# with its own code.
KEY_FIELDS = ("orderId", "userId")
STATE_FIELDS = ("status", "orderTime", "updatedAt")
SERVER_OWNED = KEY_FIELDS + STATE_FIELDS
CHANGED_CODES = {
    "orderId": "OrderIdChanged",
    "userId": "UserIdChanged",
    "status": "StatusChanged",
    "orderTime": "OrderTimeChanged",
    "updatedAt": "UpdatedAtChanged",
}

Amount = Union[int, Decimal]

ORDER_ID = String(1, 64, pattern=r"[A-Za-z0-9_-]+", mismatch="must be letters, digits, '-' and '_' only",
                  description="Chosen by the client (the workshop's clients send UUIDs).")
IDENTIFIER = AnyOf(Integer(-(10**18) + 1, 10**18 - 1), String(1, MAX_ID_LENGTH),
                   description="An integer or a string, as the client sends it.")
MONEY = Number(Decimal(0), MAX_AMOUNT, places=2, description="Decimal, >= 0, at most 2 decimal places.")
ORDER_ITEM = Object({
    "id": Required(IDENTIFIER),
    "name": Required(String(1, MAX_NAME_LENGTH, pattern=NONBLANK_TEXT, mismatch="must not be blank")),
    "price": Required(MONEY),
    "quantity": Required(Integer(1, MAX_QUANTITY)),
})
ORDER_ITEMS = Array(ORDER_ITEM, 1, MAX_ITEMS)
USER_ID = String(1, 128, description="A Cognito sub.")
ECHOED = String(1, 64, description="Server-owned: may be sent back only unchanged.")

NEW_ORDER = Object({
    "orderId": Required(ORDER_ID),
    "restaurantId": Required(IDENTIFIER),
    "orderItems": Required(ORDER_ITEMS),
    "totalAmount": Required(MONEY),
    "status": Enum([PLACED], description="Optional; a new order is always PLACED."),
    "userId": String(1, 128, description="Optional; only the caller's own id."),
}, description="POST /orders")
ORDER_EDIT = Object({
    "restaurantId": IDENTIFIER,
    "orderItems": ORDER_ITEMS,
    "totalAmount": MONEY,
    **{name: ECHOED for name in SERVER_OWNED},
}, require_any=EDITABLE_FIELDS,
    description="PUT /orders/{orderId}: at least one of restaurantId, orderItems, totalAmount; "
                "server-owned fields only unchanged.")
ACKNOWLEDGE = Object({"userId": Required(USER_ID)},
                     description="POST /orders/{orderId}/acknowledge: the owner of the order.")


@dataclass(frozen=True)
class NewOrder:
    """A validated create request (the caller is not part of it)."""

    order_id: str
    restaurant_id: Union[int, str]
    order_items: Tuple[Mapping[str, Any], ...]
    total_amount: Amount

    def canonical(self) -> Dict[str, Any]:
        return {"orderId": self.order_id, "restaurantId": self.restaurant_id,
                "orderItems": [dict(item) for item in self.order_items], "totalAmount": self.total_amount}

    def request_hash(self) -> str:
        """Fingerprint of the normalised order: equivalent bodies (status PLACED present or
        absent, 9.9 vs 9.90, key order) hash the same; any real difference does not."""
        return hashlib.sha256(dumps(self.canonical()).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OrderEdit:
    """A validated edit: the fields to set, and the server-owned values the client echoed."""

    changes: Mapping[str, Any]
    echoed: Mapping[str, Any]

    @property
    def expected(self) -> Dict[str, Any]:
        """The echoed values only the stored order knows: they must still hold at write time."""
        return {name: self.echoed[name] for name in STATE_FIELDS if name in self.echoed}

    def require_unchanged_keys(self, order_id: str, user_id: str) -> None:
        """Before any write: the echoed key fields are the path's order and the caller."""
        _require_unchanged(self.echoed, {"orderId": order_id, "userId": user_id}, KEY_FIELDS)

    def require_unchanged_state(self, current: Mapping[str, Any]) -> None:
        """After a write whose conditions failed: which echoed state field the stored order no longer has."""
        _require_unchanged(self.echoed, current, STATE_FIELDS)


def _require_unchanged(echoed: Mapping[str, Any], actual: Mapping[str, Any], fields: Sequence[str]) -> None:
    """Of `fields`, in order, the first one echoed with a value other than `actual`'s is a 400 `<Field>Changed`."""
    for name in fields:
        if name in echoed and actual.get(name) != echoed[name]:
            raise BadRequest(f"{name} cannot be changed.", code=CHANGED_CODES[name])


def format_time(moment: datetime) -> str:
    """A stored time: `YYYY-MM-DDTHH:MM:SSZ` in UTC (TIME_FORMAT)."""
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def is_valid_order_id(value: Any) -> bool:
    try:
        ORDER_ID.check(value, "orderId")
    except Invalid:
        return False
    return True


def check_order_id(value: Any) -> str:
    """A path `{orderId}`: 400 (field `orderId`) unless it has the stored format."""
    if not is_valid_order_id(value):
        raise ValidationFailed({"orderId": "must be 1-64 characters of letters, digits, '-' and '_'"},
                               "The order id in the path is invalid.")
    return value


def parse_new_order(body: Mapping[str, Any], caller: Caller) -> NewOrder:
    """POST /orders body. `status` may be PLACED (ignored) and `userId` may name the caller."""
    clean = NEW_ORDER.parse(body)
    if clean.get("userId", caller.sub) != caller.sub:
        raise ValidationFailed({"userId": "must be omitted or be the caller's own id"})
    return NewOrder(order_id=clean["orderId"], restaurant_id=clean["restaurantId"],
                    order_items=tuple(clean["orderItems"]), total_amount=clean["totalAmount"])


def parse_edit(body: Mapping[str, Any]) -> OrderEdit:
    """PUT /orders/{orderId} body: any of the editable fields, and any server-owned fields sent back
    (whether those are unchanged: `OrderEdit.require_unchanged_keys` and `require_unchanged_state`)."""
    clean = ORDER_EDIT.parse(body)
    return OrderEdit(changes={name: clean[name] for name in EDITABLE_FIELDS if name in clean},
                     echoed={name: clean[name] for name in SERVER_OWNED if name in clean})


def parse_acknowledge(body: Mapping[str, Any]) -> str:
    """POST /orders/{orderId}/acknowledge body: {"userId": "<owner>"}."""
    return ACKNOWLEDGE.parse(body)["userId"]

