"""What the orders API accepts, declared once with the shared schema module: the fields of an order
and its statuses, the request bodies and their parsed forms, the path's `{orderId}` and the list
limits. The same definitions validate requests and describe them in the OpenAPI document (no
pydantic: it would cost ~60 ms of cold start); render.py builds the order document's declaration
from these fields.

No field is nullable: `null` for an optional field is a 400 naming it (leave the field out instead),
for a required one "is required".

Every parser takes the strictly parsed JSON body (numbers are int or Decimal, never float) and
returns normalised values, or raises `ValidationFailed` naming each offending field. Numbers are
normalised (integral values become int, others `Decimal.normalize()`d), so an order renders the
same from the request, from DynamoDB and from an idempotency replay.
"""
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Dict, Mapping, Tuple, Union

from chalicelib.shared.caller import Caller
from chalicelib.shared.errors import ValidationFailed
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

EDITABLE_FIELDS = ("restaurantId", "orderItems", "totalAmount")
# Server-owned fields a client may send back in an edit (the workshop's client does), only unchanged
# (service.require_unchanged): the key fields, known from the path and the token, and the fields
# only the stored order knows, which become conditions of the write.
KEY_FIELDS = ("orderId", "userId")
STATE_FIELDS = ("status", "orderTime", "updatedAt")
SERVER_OWNED = KEY_FIELDS + STATE_FIELDS

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
    (whether those are unchanged is the service's rule: `service.require_unchanged`)."""
    clean = ORDER_EDIT.parse(body)
    return OrderEdit(changes={name: clean[name] for name in EDITABLE_FIELDS if name in clean},
                     echoed={name: clean[name] for name in SERVER_OWNED if name in clean})


def parse_acknowledge(body: Mapping[str, Any]) -> str:
    """POST /orders/{orderId}/acknowledge body: {"userId": "<owner>"}."""
    return ACKNOWLEDGE.parse(body)["userId"]

