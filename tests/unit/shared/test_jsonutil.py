from decimal import Decimal

import pytest

from chalicelib_shared.jsonutil import JsonError, dumps, loads_strict


@pytest.mark.parametrize("text", [
    "NaN", "[Infinity]", "-Infinity", "1e999", "-1e999", "1E-131", "1" * 39, "0." + "1" * 39,
    '"\\ud800"', '{"a": "\\udfff"}', '{"a": 1, "a": 2}', "[" * 40 + "]" * 40, "[" * 100000,
    b"\xff\xfe", "{", "", "{'a': 1}",
])
def test_rejects_what_dynamodb_cannot_store_or_json_does_not_allow(text: str) -> None:
    with pytest.raises(JsonError):
        loads_strict(text)


def test_numbers_are_int_or_decimal_never_float() -> None:
    value = loads_strict('{"price": 19.97, "qty": 3, "big": 1e5, "neg": -0.5}')
    assert value == {"price": Decimal("19.97"), "qty": 3, "big": Decimal("1E+5"), "neg": Decimal("-0.5")}
    assert not any(isinstance(v, float) for v in value.values())


def test_accepts_unicode_and_nul_in_strings() -> None:
    assert loads_strict('{"name": "caf\\u00e9 \\u0000 \u2603"}') == {"name": "caf\u00e9 \u0000 \u2603"}


def test_dynamodb_extremes_accepted() -> None:
    assert loads_strict("9.9999999999999999999999999999999999999E+125") > 0
    assert loads_strict("1E-130") > 0


def test_dumps_renders_decimals_exactly_and_compactly() -> None:
    doc = {"a": Decimal("19.90"), "b": Decimal("1E+2"), "c": Decimal("0.1") + Decimal("0.2"),
           "d": [1, True, None, "x"], "e": Decimal("-0")}
    assert dumps(doc) == '{"a":19.9,"b":100,"c":0.3,"d":[1,true,null,"x"],"e":0}'


def test_round_trip_is_byte_identical() -> None:
    text = '{"price":19.97,"items":[{"q":2,"p":0.5}],"name":"caf\\u00e9"}'
    assert dumps(loads_strict(text)) == text


def test_dumps_refuses_unknown_types() -> None:
    with pytest.raises(TypeError):
        dumps({"x": object()})
