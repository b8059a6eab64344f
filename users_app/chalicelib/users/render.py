"""The user document as clients see it, declared once: `USER` lists its fields in output order with
their types (the shared schema module's), `user()` renders a stored item in that order, and
deploy/codegen/openapi.py describes the responses with `USER.json_schema()`. Its times are stored as
models.py writes them (models.TIME).
"""
from typing import Any, Dict, Mapping

from chalicelib.shared.schema import Array, Object, Required, Text

from .models import LIST_MAX_LIMIT, TIME, USERID

USER = Object({
    "userid": Required(USERID),
    "name": Required(Text()),
    "email": Text(),
    "createdAt": Required(TIME),
    "updatedAt": Required(TIME),
    "timestamp": Required(Text(format="date-time", description="= updatedAt (workshop field)")),
}, closed=False)
USERS = Array(USER, 0, LIST_MAX_LIMIT)  # GET /users: one page


def user(item: Mapping[str, Any]) -> Dict[str, Any]:
    """The stored user with its known fields first, in USER's order (DynamoDB returns any order),
    then any others (e.g. the workshop's) as they come."""
    return USER.in_order(item)
