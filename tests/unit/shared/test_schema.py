import json
import re
from decimal import Decimal
from typing import Any, Dict

import pytest

from chalicelib_shared.errors import ValidationFailed
from chalicelib_shared.schema import (
    NONBLANK_TEXT,
    AnyOf,
    Array,
    Enum,
    Integer,
    Nullable,
    Number,
    Object,
    Required,
    String,
    Text,
)

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


def problems(body: Any) -> Dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        ORDER.parse(body)
    return info.value.fields


def good(**overrides: Any) -> Dict[str, Any]:
    body = {"orderId": "o-1", "items": [{"id": 1, "name": "Pizza", "price": Decimal("9.50"), "quantity": 2}]}
    body.update(overrides)
    return body


def test_valid_body_is_normalised() -> None:
    clean = ORDER.parse(good())
    assert clean["items"][0]["price"] == Decimal("9.5") and str(clean["items"][0]["price"]) == "9.5"
    assert ORDER.parse(good(items=[{"id": "x", "name": "n", "price": Decimal("3.00"), "quantity": 1}]))[
        "items"][0]["price"] == 3


def test_every_problem_is_reported_with_its_path() -> None:
    found = problems({"orderId": "bad id!", "items": [{"id": True, "name": "", "price": Decimal("1.234"),
                                                        "quantity": 0, "x": 1}], "extra": 1})
    assert found == {
        "orderId": "must match [A-Za-z0-9_-]+",
        "items[0].id": "must be an integer or a string",
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
def test_single_field_problems(field: str, value: Any, message: str) -> None:
    body = good(**{field: value})
    assert problems(body) == {field: message}


def test_numbers_reject_bool_and_out_of_range() -> None:
    assert problems(good(items=[{"id": 1, "name": "n", "price": True, "quantity": 1}])) == {
        "items[0].price": "must be a number"}
    assert problems(good(items=[{"id": 1, "name": "n", "price": Decimal("-0.01"), "quantity": 1}])) == {
        "items[0].price": "must be between 0 and 1000000"}


def test_json_schema_mirrors_the_rules() -> None:
    schema = ORDER.json_schema()
    assert schema["required"] == ["orderId", "items"]
    assert schema["additionalProperties"] is False
    item = schema["properties"]["items"]["items"]
    assert item["properties"]["price"] == {"type": "number", "minimum": 0.0, "maximum": 1000000.0, "multipleOf": 0.01}
    assert item["properties"]["quantity"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert schema["properties"]["orderId"]["pattern"] == "^[A-Za-z0-9_-]+$"


def test_any_of_reports_the_reason_of_the_alternative_of_the_values_type() -> None:
    field = AnyOf(Integer(0, 10), String(1, 5))
    model = Object({"id": Required(field)})
    for value, message in [("a\x01", "must not contain control characters"), (11, "must be between 0 and 10"),
                           ("toolong", "must be 1-5 characters"), ([1], "must be an integer or a string")]:
        with pytest.raises(ValidationFailed) as info:
            model.parse({"id": value})
        assert info.value.fields == {"id": message}


def test_require_any_is_checked_and_documented() -> None:
    model = Object({"a": String(), "b": String(), "note": String()}, require_any=("a", "b"))
    with pytest.raises(ValidationFailed) as info:
        model.parse({"note": "x"})
    assert info.value.fields == {"body": "must set at least one of: a, b"}
    assert model.parse({"b": "y"}) == {"b": "y"}
    assert model.json_schema()["anyOf"] == [{"required": ["a"]}, {"required": ["b"]}]


def test_string_schemas_forbid_control_characters_like_the_check_does() -> None:
    plain = String(0, 10).json_schema()["pattern"]
    nonblank = String(1, 10, pattern=NONBLANK_TEXT).json_schema()["pattern"]
    for text, ok_plain, ok_nonblank in [("abc", True, True), ("a\x00b", False, False), ("   ", True, False),
                                        ("caf\u00e9 \u2603", True, True), ("\x7f", False, False)]:
        assert bool(re.fullmatch(plain, text)) is ok_plain, text
        assert bool(re.fullmatch(nonblank, text)) is ok_nonblank, text


@pytest.mark.parametrize("blank", ["\u0085", "\ufeff", "\u00a0", "\u2028", "\u3000", " \u0085 "])
def test_blank_means_the_same_to_the_check_and_to_json_schema(blank: str) -> None:
    """Python's `\\s` and ECMA-262's differ (U+0085, U+FEFF): the pattern names every blank character
    itself, so a name that is only one of them is refused by the check and by the document alike."""
    model = Object({"name": String(1, 10, pattern=NONBLANK_TEXT, mismatch="must not be blank")})
    with pytest.raises(ValidationFailed):
        model.parse({"name": blank})
    assert "\\s" not in model.json_schema()["properties"]["name"]["pattern"]
    assert model.parse({"name": blank + "x"}) == {"name": blank + "x"}


def test_a_pattern_can_explain_itself() -> None:
    model = Object({"name": String(1, 10, pattern=NONBLANK_TEXT, mismatch="must not be blank"),
                    "code": String(1, 10, pattern="[a-z]+")})
    with pytest.raises(ValidationFailed) as info:
        model.parse({"name": "  ", "code": "A"})
    assert info.value.fields == {"name": "must not be blank", "code": "must match [a-z]+"}


# -- output documents: Text, open objects, declared order -----------------------------------------

DOCUMENT = Object({
    "id": Required(String(1, 64, pattern=r"[a-z0-9-]+")),
    "when": Required(Text(pattern=r"\d{4}-\d\d-\d\d")),
    "items": Array(Object({"name": Required(String(1, 10)), "qty": Required(Integer(1, 9))})),
    "note": Text(format="email", description="Optional."),
}, closed=False)


def test_text_describes_a_string_by_its_format_or_pattern_only() -> None:
    assert Text().json_schema() == {"type": "string"}
    assert Text(format="date-time", description="d").json_schema() == {"type": "string", "format": "date-time",
                                                                       "description": "d"}
    assert Text(pattern=r"\d+").json_schema() == {"type": "string", "pattern": r"^\d+$"}
    model = Object({"t": Text(pattern=r"\d+")})
    assert model.parse({"t": "12"}) == {"t": "12"}
    with pytest.raises(ValidationFailed) as info:
        model.parse({"t": "1a"})
    assert info.value.fields == {"t": r"must match \d+"}


def test_an_open_object_allows_other_properties_and_does_not_forbid_them_in_its_schema() -> None:
    schema = DOCUMENT.json_schema()
    assert "additionalProperties" not in schema and schema["required"] == ["id", "when"]
    assert schema["properties"]["items"]["items"]["additionalProperties"] is False  # nested: as declared
    assert DOCUMENT.parse({"id": "a", "when": "2026-01-02", "legacy": 1}) == {"id": "a", "when": "2026-01-02",
                                                                              "legacy": 1}


def test_in_order_puts_declared_fields_first_nested_too_then_the_rest() -> None:
    stored = {"zeta": 1, "items": [{"qty": 2, "extra": True, "name": "n"}, "odd"], "alpha": 2,
              "when": "2026-01-02", "id": "a"}
    assert list(DOCUMENT.in_order(stored)) == ["id", "when", "items", "zeta", "alpha"]
    assert list(DOCUMENT.in_order(stored, sort_rest=True)) == ["id", "when", "items", "alpha", "zeta"]
    assert list(DOCUMENT.in_order(stored)["items"][0]) == ["name", "qty", "extra"]
    assert DOCUMENT.in_order(stored)["items"][1] == "odd"
    assert DOCUMENT.in_order(stored) == stored  # the same values, only the order changes


def test_declaring_a_pattern_compiles_nothing_until_a_value_is_checked() -> None:
    field = String(1, 10, pattern=r"[a-z]+")
    assert field._regex is None
    field.check("abc", "f")
    assert field._regex is not None


def test_null_is_refused_for_an_optional_field_and_required_for_a_required_one() -> None:
    assert problems(good(note=None)) == {"note": "must not be null (leave it out instead)"}
    assert problems(good(status=None, orderId=None)) == {"status": "must not be null (leave it out instead)",
                                                         "orderId": "is required"}
    assert "nullable" not in json.dumps(ORDER.json_schema())


def test_a_nullable_field_takes_null_as_absent_and_says_so_in_its_schema() -> None:
    model = Object({"name": Required(String(1, 10)), "email": Nullable(String(3, 20)), "nick": String(1, 5)})
    assert model.parse({"name": "n", "email": None}) == {"name": "n"} == model.parse({"name": "n"})
    assert model.parse({"name": "n", "email": "a@b"}) == {"name": "n", "email": "a@b"}
    with pytest.raises(ValidationFailed) as info:
        model.parse({"name": "n", "email": 5, "nick": None})
    assert info.value.fields == {"email": "must be a string", "nick": "must not be null (leave it out instead)"}
    properties = model.json_schema()["properties"]
    assert properties["email"] == {**String(3, 20).json_schema(), "nullable": True}
    assert "nullable" not in properties["nick"] and "nullable" not in properties["name"]
