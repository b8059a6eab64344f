# GENERATED from chalicelib_shared/schema.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Tiny declarative models: one definition validates a request body and describes it in OpenAPI,
and one definition of an output document orders its fields and describes the response.

    ORDER = Object({"orderId": Required(String(1, 64, pattern=ID)), "note": String(0, 200)})
    clean = ORDER.parse(body)          # normalised dict, or ValidationFailed({"field.path": "why"})
    ORDER.json_schema()                # the same rules as JSON Schema (for the OpenAPI document)

    DOCUMENT = Object({"orderId": Required(ORDER_ID), "orderTime": Required(Text(pattern=TIME))}, closed=False)
    DOCUMENT.in_order(stored)          # its known fields first, in this order (DynamoDB keeps none)

`null` is a value like any other: an optional property sent as `null` is refused ("must not be null"),
a required one is "required", unless the property is declared `Nullable(...)`: then `null` means the
same as leaving it out, and the JSON Schema says `nullable: true` (OpenAPI 3.0), so the document
and the check agree.

Numbers arrive as int/Decimal from jsonutil.loads_strict and leave as int/Decimal: never float.
Every problem in a body is reported at once, keyed by its path (`orderItems[2].price`).
Declaring costs no regex compilation: a pattern is compiled on its first check (a declaration
that only describes output never compiles one).
"""
import re
from decimal import Context, Decimal
from typing import Any, Dict, List, Mapping, Optional, Pattern, Sequence, Tuple

from .errors import ValidationFailed

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Patterns for text without control characters, for models whose strings also need a pattern.
TEXT = r"[^\x00-\x1f\x7f]*"
# "Blank" spelled out, not `\s`: Python's `\s` also matches U+0085 and JSON Schema's (ECMA-262) also
# U+FEFF, so with `\s` the document and the check would disagree on a name of one of them. This class
# is the union, read the same by both.
BLANK = r"\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NONBLANK_TEXT = rf"[^\x00-\x1f\x7f]*[^{BLANK}\x00-\x1f\x7f][^\x00-\x1f\x7f]*"
_EXACT = Context(prec=200)


class Invalid(Exception):
    def __init__(self, problems: Dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


class Field:
    description: Optional[str] = None
    type_name = "value"

    def accepts_type(self, value: Any) -> bool:
        """Whether `value` has this field's JSON type (its other rules aside)."""
        return True

    def check(self, value: Any, path: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def json_schema(self) -> Dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def _described(self, schema: Dict[str, Any]) -> Dict[str, Any]:
        if self.description:
            schema["description"] = self.description
        return schema


def _fail(path: str, message: str) -> Invalid:
    return Invalid({path or "body": message})


class String(Field):
    """A string; without `allow_control`, control characters are refused. A `pattern` must itself
    exclude control characters (see TEXT / NONBLANK_TEXT) so the OpenAPI document says what we check;
    `mismatch` is what a client is told when the pattern does not match (default: the pattern)."""

    type_name = "string"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, str)

    def __init__(self, min_length: int = 0, max_length: int = 256, pattern: Optional[str] = None,
                 allow_control: bool = False, format: Optional[str] = None,  # noqa: A002 - JSON Schema's name
                 description: Optional[str] = None, mismatch: Optional[str] = None) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = pattern
        self.mismatch = mismatch or f"must match {pattern}"
        self._regex: Optional[Pattern[str]] = None  # compiled on first use
        self.allow_control = allow_control
        self.format = format
        self.description = description

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _fail(path, "must be a string")
        if not self.min_length <= len(value) <= self.max_length:
            raise _fail(path, f"must be {self.min_length}-{self.max_length} characters")
        if not self.allow_control and _CONTROL.search(value):
            raise _fail(path, "must not contain control characters")
        if self.pattern:
            if self._regex is None:
                self._regex = re.compile(self.pattern)
            if not self._regex.fullmatch(value):
                raise _fail(path, self.mismatch)
        return value

    def json_schema(self) -> Dict[str, Any]:
        schema: Dict[str, Any] = {"type": "string", "minLength": self.min_length, "maxLength": self.max_length}
        if self.pattern:
            schema["pattern"] = f"^{self.pattern}$"
        elif not self.allow_control:
            schema["pattern"] = f"^{TEXT}$"
        if self.format:
            schema["format"] = self.format
        return self._described(schema)


class Text(Field):
    """Any JSON string, described by at most a `format` or a `pattern`: for fields of output documents,
    which describe what the service stores and renders (a stored value may predate today's input
    rules, so no bounds are promised). Checking it checks only that much."""

    type_name = "string"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, str)

    def __init__(self, pattern: Optional[str] = None, format: Optional[str] = None,  # noqa: A002 - likewise
                 description: Optional[str] = None) -> None:
        self.pattern = pattern
        self.format = format
        self.description = description

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _fail(path, "must be a string")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise _fail(path, f"must match {self.pattern}")
        return value

    def json_schema(self) -> Dict[str, Any]:
        schema: Dict[str, Any] = {"type": "string"}
        if self.pattern:
            schema["pattern"] = f"^{self.pattern}$"
        if self.format:
            schema["format"] = self.format
        return self._described(schema)


class Integer(Field):
    type_name = "integer"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool)

    def __init__(self, minimum: int, maximum: int, description: Optional[str] = None) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.description = description

    def check(self, value: Any, path: str) -> Any:
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, "must be an integer")
        if not self.minimum <= value <= self.maximum:
            raise _fail(path, f"must be between {self.minimum} and {self.maximum}")
        return value

    def json_schema(self) -> Dict[str, Any]:
        return self._described({"type": "integer", "minimum": self.minimum, "maximum": self.maximum})


class Number(Field):
    """A Decimal with bounds and at most `places` decimal places (money: places=2)."""

    type_name = "number"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool)

    def __init__(self, minimum: Decimal, maximum: Decimal, places: Optional[int] = None,
                 description: Optional[str] = None) -> None:
        self.minimum = Decimal(minimum)
        self.maximum = Decimal(maximum)
        self.places = places
        self.description = description

    def check(self, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise _fail(path, "must be a number")
        number = Decimal(value)
        if not number.is_finite() or not self.minimum <= number <= self.maximum:
            raise _fail(path, f"must be between {self.minimum} and {self.maximum}")
        normal = number.normalize(_EXACT)
        if self.places is not None and int(normal.as_tuple().exponent) < -self.places:
            raise _fail(path, f"must have at most {self.places} decimal places")
        return int(normal) if normal == normal.to_integral_value() else normal

    def json_schema(self) -> Dict[str, Any]:
        schema: Dict[str, Any] = {"type": "number", "minimum": float(self.minimum), "maximum": float(self.maximum)}
        if self.places is not None:
            schema["multipleOf"] = float(Decimal(1).scaleb(-self.places))
        return self._described(schema)


class Enum(Field):
    type_name = "string"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, str)

    def __init__(self, values: Sequence[str], description: Optional[str] = None) -> None:
        self.values = tuple(values)
        self.description = description

    def check(self, value: Any, path: str) -> Any:
        if value not in self.values or not isinstance(value, str):
            raise _fail(path, "must be one of " + ", ".join(self.values))
        return value

    def json_schema(self) -> Dict[str, Any]:
        return self._described({"type": "string", "enum": list(self.values)})


class AnyOf(Field):
    """The first alternative that accepts the value wins (e.g. an id sent as integer or string)."""

    def __init__(self, *options: Field, description: Optional[str] = None) -> None:
        self.options = options
        self.description = description

    def check(self, value: Any, path: str) -> Any:
        problem: Optional[Invalid] = None
        for option in self.options:
            try:
                return option.check(value, path)
            except Invalid as exc:
                if problem is None and option.accepts_type(value):
                    problem = exc  # the reason from the alternative of the value's own type
        raise problem or _fail(path, "must be " + " or ".join(
            ("an " if o.type_name[0] in "aeiou" else "a ") + o.type_name for o in self.options))

    def json_schema(self) -> Dict[str, Any]:
        return self._described({"anyOf": [o.json_schema() for o in self.options]})


class Array(Field):
    type_name = "array"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, list)

    def __init__(self, items: Field, min_items: int = 0, max_items: int = 100,
                 description: Optional[str] = None) -> None:
        self.items = items
        self.min_items = min_items
        self.max_items = max_items
        self.description = description

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise _fail(path, "must be an array")
        if not self.min_items <= len(value) <= self.max_items:
            raise _fail(path, f"must have {self.min_items}-{self.max_items} items")
        problems: Dict[str, str] = {}
        result = []
        for i, item in enumerate(value):
            try:
                result.append(self.items.check(item, f"{path}[{i}]"))
            except Invalid as exc:
                problems.update(exc.problems)
        if problems:
            raise Invalid(problems)
        return result

    def json_schema(self) -> Dict[str, Any]:
        return self._described({"type": "array", "items": self.items.json_schema(),
                                "minItems": self.min_items, "maxItems": self.max_items})


class Required:
    """Marks an Object property as required."""

    def __init__(self, field: Field) -> None:
        self.field = field


class Nullable:
    """Marks an optional Object property whose `null` means "absent" (e.g. `"email": null`: no email);
    described as `nullable: true`. Any other optional property refuses `null`."""

    def __init__(self, field: Field) -> None:
        self.field = field


class Object(Field):
    """A JSON object with known properties; unknown properties are rejected (no mass assignment).
    `require_any`: at least one of these optional properties must be present. `closed=False` (output
    documents): other properties may be present too (a stored item may carry attributes we do not
    know, e.g. from the workshop); they pass through a check unchanged and are rendered last."""

    type_name = "object"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, dict)

    def __init__(self, properties: Mapping[str, Any], description: Optional[str] = None,
                 require_any: Sequence[str] = (), closed: bool = True) -> None:
        self.properties: Dict[str, Tuple[Field, bool]] = {}
        self.nullable: Tuple[str, ...] = tuple(name for name, spec in properties.items() if isinstance(spec, Nullable))
        for name, spec in properties.items():
            if isinstance(spec, Required):
                self.properties[name] = (spec.field, True)
            elif isinstance(spec, Nullable):
                self.properties[name] = (spec.field, False)
            else:
                self.properties[name] = (spec, False)
        self.description = description
        self.require_any = tuple(require_any)
        self.closed = closed

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _fail(path, "must be an object")
        problems: Dict[str, str] = {}
        prefix = f"{path}." if path else ""
        unknown = [name for name in value if name not in self.properties]
        if self.closed:
            problems.update((f"{prefix}{name}", "is not allowed") for name in unknown)
        result: Dict[str, Any] = {}
        for name, (field, required) in self.properties.items():
            if name not in value or (value[name] is None and (required or name in self.nullable)):
                if required:
                    problems[f"{prefix}{name}"] = "is required"
                continue
            if value[name] is None:
                problems[f"{prefix}{name}"] = "must not be null (leave it out instead)"
                continue
            try:
                result[name] = field.check(value[name], f"{prefix}{name}")
            except Invalid as exc:
                problems.update(exc.problems)
        if not problems and self.require_any and not any(name in result for name in self.require_any):
            problems[path or "body"] = "must set at least one of: " + ", ".join(self.require_any)
        if problems:
            raise Invalid(problems)
        if not self.closed:
            result.update((name, value[name]) for name in unknown)
        return result

    def parse(self, value: Any) -> Dict[str, Any]:
        """Validate a whole body: the normalised dict, or ValidationFailed listing every problem."""
        try:
            return self.check(value, "")
        except Invalid as exc:
            raise ValidationFailed(exc.problems) from None

    def in_order(self, document: Mapping[str, Any], sort_rest: bool = False) -> Dict[str, Any]:
        """`document` with its known properties first, in the order declared here (nested objects, and
        objects in arrays, likewise), then any others: sorted, or with `sort_rest=False` as they come."""
        out = {name: _in_order(field, document[name], sort_rest)
               for name, (field, _) in self.properties.items() if name in document}
        rest = sorted(document) if sort_rest else document
        out.update((name, document[name]) for name in rest if name not in out)
        return out

    def json_schema(self) -> Dict[str, Any]:
        schema: Dict[str, Any] = {
            "type": "object",
            "properties": {name: {**field.json_schema(), "nullable": True} if name in self.nullable
                           else field.json_schema() for name, (field, _) in self.properties.items()},
        }
        if self.closed:
            schema["additionalProperties"] = False
        required: List[str] = [name for name, (_, req) in self.properties.items() if req]
        if required:
            schema["required"] = required
        if self.require_any:
            schema["anyOf"] = [{"required": [name]} for name in self.require_any]
        return self._described(schema)


def _in_order(field: Field, value: Any, sort_rest: bool) -> Any:
    if isinstance(field, Object) and isinstance(value, dict):
        return field.in_order(value, sort_rest)
    if isinstance(field, Array) and isinstance(field.items, Object) and isinstance(value, list):
        return [field.items.in_order(item, sort_rest) if isinstance(item, dict) else item for item in value]
    return value
