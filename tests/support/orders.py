"""Orders test data: the one order body every suite posts, and a caller for the service."""
from typing import Any, Dict


def order_body(order_id: str = "order-1", **overrides: Any) -> Dict[str, Any]:
    """The order the workshop's integration tests post (two items, total 19.97) under `order_id`;
    `overrides` replace fields, and an override of None leaves the field out."""
    body: Dict[str, Any] = {
        "orderId": order_id,
        "restaurantId": 1,
        "orderItems": [
            {"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1},
            {"id": 2, "name": "Pizza - SMALL", "price": 4.99, "quantity": 2},
        ],
        "totalAmount": 19.97,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def caller(orders: Any, sub: str = "user-a", admin: bool = False) -> Any:
    """The orders app's `Caller` for `sub` (`orders` is the app's modules, the `orders` fixture)."""
    return orders.caller.Caller(sub=sub, is_admin=admin)
