"""The order document: declared once in render.py, rendered in that order, described by the same
declaration in the committed OpenAPI document (statuses and the time format included)."""
import json
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from deploy.project import ROOT


def test_the_openapi_order_schemas_are_the_render_declarations(orders: SimpleNamespace) -> None:
    schemas = json.loads((ROOT / "orders_app" / "openapi.json").read_text())["components"]["schemas"]
    assert schemas["Order"] == orders.render.ORDER.json_schema()
    listed = orders.render.ORDER_LIST.json_schema()
    listed["properties"]["orders"]["items"] = {"$ref": "#/components/schemas/Order"}
    assert schemas["OrderList"] == listed
    assert schemas["Order"]["properties"]["status"]["enum"] == list(orders.models.STATUSES)


def test_the_time_pattern_describes_what_the_model_stores(orders: SimpleNamespace) -> None:
    pattern = orders.render.ORDER.json_schema()["properties"]["orderTime"]["pattern"]
    moment = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert orders.models.format_time(moment) == "2024-05-01T08:00:00Z"
    assert re.fullmatch(pattern, orders.models.format_time(moment))


def test_order_list_has_a_next_token_only_when_more_may_follow(orders: SimpleNamespace) -> None:
    assert orders.render.order_list([], None) == {"orders": []}
    assert orders.render.order_list([{"orderId": "o"}], "t") == {"orders": [{"orderId": "o"}], "nextToken": "t"}
