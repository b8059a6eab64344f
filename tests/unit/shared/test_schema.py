from decimal import Decimal

import pytest

from chalicelib_shared.errors import ValidationFailed
from chalicelib_shared.schema import AnyOf, Array, Enum, Integer, Number, Object, Required, String

ITEM = Object({
    "id": Required(AnyOf(Integer(0, 10**9), String(1, 64))),
    "name": Required(String(1, 100)),
    "price": Required(Number(Decimal(0), Decimal(10**6), places=2)),
    "quantity": Required(Integer(1, 1000)),
})
ORDER = Object({
    "orderId": Required(String(1, 64, pattern=r"[A-Za-z0-9_-]+")),
    "items": Required(Array(ITEM, 1, 3)),
    "status": Enum(["PLACED"]),
    "note": String(0, 10),
})


def problems(body):
    with pytest.raises(ValidationFailed) as info:
        ORDER.parse(body)
    return info.value.fields


def good(**overrides):
    body = {"orderId": "o-1", "items": [{"id": 1, "name": "Pizza", "price": Decimal("9.50"), "quantity": 2}]}
    body.update(overrides)
    return body


def test_valid_body_is_normalised():
    clean = ORDER.parse(good())
    assert clean["items"][0]["price"] == Decimal("9.5") and str(clean["items"][0]["price"]) == "9.5"
    assert ORDER.parse(good(items=[{"id": "x", "name": "n", "price": Decimal("3.00"), "quantity": 1}]))[
        "items"][0]["price"] == 3


def test_every_problem_is_reported_with_its_path():
    found = problems({"orderId": "bad id!", "items": [{"id": True, "name": "", "price": Decimal("1.234"),
                                                        "quantity": 0, "x": 1}], "extra": 1})
    assert found == {
        "orderId": "must match [A-Za-z0-9_-]+",
        "items[0].id": "must be an integer",
        "items[0].name": "must be 1-100 characters",
        "items[0].price": "must have at most 2 decimal places",
        "items[0].quantity": "must be between 1 and 1000",
        "items[0].x": "is not allowed",
        "extra": "is not allowed",
    }


@pytest.mark.parametrize("field, value, message", [
    ("orderId", None, "is required"),
    ("orderId", 5, "must be a string"),
    ("items", [], "must have 1-3 items"),
    ("items", "x", "must be an array"),
    ("status", "CANCELED", "must be one of PLACED"),
    ("note", "a\x00b", "must not contain control characters"),
])
def test_single_field_problems(field, value, message):
    body = good(**{field: value})
    assert problems(body) == {field: message}


def test_numbers_reject_bool_and_out_of_range():
    assert problems(good(items=[{"id": 1, "name": "n", "price": True, "quantity": 1}])) == {
        "items[0].price": "must be a number"}
    assert problems(good(items=[{"id": 1, "name": "n", "price": Decimal("-0.01"), "quantity": 1}])) == {
        "items[0].price": "must be between 0 and 1000000"}


def test_json_schema_mirrors_the_rules():
    schema = ORDER.json_schema()
    assert schema["required"] == ["orderId", "items"]
    assert schema["additionalProperties"] is False
    item = schema["properties"]["items"]["items"]
    assert item["properties"]["price"] == {"type": "number", "minimum": 0.0, "maximum": 1000000.0, "multipleOf": 0.01}
    assert item["properties"]["quantity"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert schema["properties"]["orderId"]["pattern"] == "^[A-Za-z0-9_-]+$"
