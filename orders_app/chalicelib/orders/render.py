"""The order document as clients see it, declared once: `ORDER` lists its fields in output order with
their types (the shared schema module's, and models.py's fields of an order), `order()` renders a
stored document in that order, and deploy/codegen/openapi.py describes the responses with `ORDER.json_schema()`
and `ORDER_LIST.json_schema()`. Its times are stored as models.py writes them (models.TIME).
"""
from typing import Any, Dict, Mapping, Optional, Sequence

from chalicelib.shared.schema import Array, Enum, Object, Required, Text

from .models import IDENTIFIER, LIST_MAX_LIMIT, MONEY, ORDER_ID, ORDER_ITEMS, STATUSES, TIME

ORDER = Object({
    "orderId": Required(ORDER_ID),
    "userId": Required(Text()),
    "restaurantId": Required(IDENTIFIER),
    "orderItems": Required(ORDER_ITEMS),
    "totalAmount": Required(MONEY),
    "status": Required(Enum(STATUSES)),
    "orderTime": Required(TIME),
    "updatedAt": TIME,
}, closed=False)
ORDER_LIST = Object({
    "orders": Required(Array(ORDER, 0, LIST_MAX_LIMIT)),
    "nextToken": Text(description="Present only when more pages exist."),
}, closed=False)


def order(document: Mapping[str, Any]) -> Dict[str, Any]:
    """The document with its keys in ORDER's order (items in ORDER_ITEM's), any others sorted after
    them: DynamoDB does not keep a map's key order, and an order must render byte for byte the same
    whether it was just written, replayed or read."""
    return ORDER.in_order(document, sort_rest=True)


def order_list(documents: Sequence[Mapping[str, Any]], next_token: Optional[str]) -> Dict[str, Any]:
    """GET /orders: one page of the caller's orders, and `nextToken` only when more may follow."""
    body: Dict[str, Any] = {"orders": [order(document) for document in documents]}
    if next_token is not None:
        body["nextToken"] = next_token
    return body
