"""Explicit bad input against both APIs over HTTP (README.md, "What the test suite
proves": "Bad input and fuzzing").

Bodies over the app limit (64 KiB, parse_json_object) and the gateway limit (1 MiB), deep
nesting, huge arrays, non-finite and out-of-range numbers, NUL / emoji / RTL / lone surrogates,
duplicate keys, wrong content types, empty and non-object bodies, out-of-range query
parameters, tampered / foreign / garbage nextTokens and odd path parameters. Every answer is a
4xx with the JSON error shape (never a 5xx, never a dropped connection); the few inputs that are
legitimately accepted (a valid emoji name, say) must round-trip exactly. Afterwards the stored
items this module could have written are checked for completeness and storable values.
"""
import base64
import json
import re
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import pytest

from tests.support import attacks, http
from tests.support.orders import order_body

pytestmark = pytest.mark.integration

POOL = ThreadPoolExecutor(max_workers=4)
MARK = "BadInput"  # every name this module stores starts with it (the final scan finds them)
APP_LIMIT = 64 * 1024
GATEWAY_LIMIT = 1024 * 1024


def problem(name: str, answer: http.Answer, allowed: Tuple[int, ...]) -> Optional[str]:
    """None when `answer` is allowed and, if an error, has the JSON error shape."""
    if answer.error:
        return f"{name}: no HTTP answer ({answer.error})"
    if answer.status not in allowed:
        return f"{name}: {answer.status} not in {allowed}: {answer.body[:200]!r}"
    if answer.status >= 400:
        shape = attacks.error_shape_problem(answer.status, answer.content_type, answer.body)
        if shape:
            return f"{name}: {answer.status} {shape}"
    return None


def run_all(jobs: List[Tuple[str, Callable[[], http.Answer], Tuple[int, ...]]]) -> List[Tuple[str, http.Answer]]:
    """Run the jobs concurrently; assert every answer is allowed; return (name, answer)."""
    answers = list(POOL.map(lambda job: job[1](), jobs))
    problems = [p for (name, _, allowed), answer in zip(jobs, answers, strict=True)
                if (p := problem(name, answer, allowed))]
    assert not problems, "\n".join(problems)
    return [(name, answer) for (name, _, _), answer in zip(jobs, answers, strict=True)]


def marked_order(order_id: Optional[str] = None, item_name: str = f"{MARK} soup") -> Dict[str, Any]:
    """An order whose one item is named `item_name` (MARK ... by default: the final scan checks it)."""
    return order_body(order_id or f"bi-{uuid.uuid4().hex}", restaurantId=3, totalAmount=10,
                      orderItems=[{"id": 1, "name": item_name, "price": 5, "quantity": 2}])


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def who(stack: Any) -> Dict[str, Any]:
    user, admin = stack.new_user(), stack.new_user(admin=True)
    r = http.answer(stack.users_url, "PUT", f"/users/{user.sub}", {"name": f"{MARK} me"}, who=user)
    assert r.status == 200, r.body
    order = http.answer(stack.orders_url, "POST", "/orders", marked_order(), who=user)
    assert order.status == 200, order.body
    return {"user": user, "admin": admin, "order": order.json()}


@dataclass(frozen=True)
class BodyRoute:
    name: str
    method: str
    path: str            # {me} = the user's sub, {order} = the user's order
    caller: str          # "user" | "admin"
    field: str           # where a scalar under test goes (a dotted path into the valid body)
    valid: Callable[[], Dict[str, Any]]


BODY_ROUTES = [
    BodyRoute("orders:POST /orders", "POST", "orders:/orders", "user", "totalAmount", marked_order),
    BodyRoute("orders:PUT /orders/{id}", "PUT", "orders:/orders/{order}", "user", "totalAmount",
              lambda: {"totalAmount": 7}),
    BodyRoute("orders:POST /orders/{id}/acknowledge", "POST", "orders:/orders/{order}/acknowledge", "admin",
              "userId", lambda: {"userId": "SUB"}),
    BodyRoute("users:POST /users", "POST", "users:/users", "admin", "name", lambda: {"name": f"{MARK} new"}),
    BodyRoute("users:PUT /users/{me}", "PUT", "users:/users/{me}", "user", "name", lambda: {"name": f"{MARK} me"}),
]


def url_of(stack: Any, who: Dict[str, Any], path: str) -> str:
    api, _, rest = path.partition(":")
    base = stack.users_url if api == "users" else stack.orders_url
    return base + rest.replace("{me}", who["user"].sub).replace("{order}", who["order"]["orderId"])


def valid_body(route: BodyRoute, who: Dict[str, Any]) -> Dict[str, Any]:
    body = route.valid()
    if body.get("userId") == "SUB":
        body["userId"] = who["user"].sub
    return body


def with_literal(body: Dict[str, Any], field: str, literal: str) -> bytes:
    """The body as JSON text with `field`'s value replaced by raw JSON text `literal`."""
    marker = "@@LITERAL@@"
    body = dict(body)
    body[field] = marker
    return json.dumps(body).replace(json.dumps(marker), literal).encode("utf-8")


# -- bodies --------------------------------------------------------------------------------

def nested(depth: int) -> str:
    return '{"x": ' + "[" * depth + "]" * depth + "}"


# name -> (body builder(valid dict, field) -> bytes, content type, allowed statuses)
BODY_CASES: Dict[str, Tuple[Callable[[Dict[str, Any], str], bytes], Optional[str], Tuple[int, ...]]] = {
    "over_app_limit_64k": (lambda b, f: json.dumps({**b, "pad": "x" * (APP_LIMIT + 100)}).encode(),
                           "application/json", (413,)),
    "over_app_limit_valid_fields_only": (lambda b, f: with_literal(b, f, json.dumps("y" * (APP_LIMIT + 10))),
                                         "application/json", (413,)),
    "over_gateway_limit_1mib": (lambda b, f: b"[" + b"1," * (GATEWAY_LIMIT // 2) + b"1]",
                                "application/json", (413,)),
    "deep_nesting_33": (lambda b, f: nested(33).encode(), "application/json", (400,)),
    "deep_nesting_10000": (lambda b, f: nested(10_000).encode(), "application/json", (400,)),
    "deep_nesting_in_field": (lambda b, f: with_literal(b, f, "[" * 5000 + "]" * 5000), "application/json", (400,)),
    "huge_array_10k_numbers": (lambda b, f: with_literal(b, f, json.dumps([0] * 10_000)), "application/json", (400,)),
    "huge_array_10k_objects": (lambda b, f: json.dumps({**b, "orderItems": [{}] * 10_000}).encode(),
                               "application/json", (400,)),
    "nan": (lambda b, f: with_literal(b, f, "NaN"), "application/json", (400,)),
    "infinity": (lambda b, f: with_literal(b, f, "Infinity"), "application/json", (400,)),
    "minus_infinity": (lambda b, f: with_literal(b, f, "-Infinity"), "application/json", (400,)),
    "1e999": (lambda b, f: with_literal(b, f, "1e999"), "application/json", (400,)),
    "minus_1e999": (lambda b, f: with_literal(b, f, "-1e999"), "application/json", (400,)),
    "1e-200": (lambda b, f: with_literal(b, f, "1e-200"), "application/json", (400,)),
    "1e126": (lambda b, f: with_literal(b, f, "1e126"), "application/json", (400,)),
    "40_digit_integer": (lambda b, f: with_literal(b, f, "1234567890123456789012345678901234567890"),
                         "application/json", (400,)),
    "40_digit_fraction": (lambda b, f: with_literal(b, f, "0.1234567890123456789012345678901234567890"),
                          "application/json", (400,)),
    "number_in_unknown_field_1e999": (lambda b, f: json.dumps(b)[:-1].encode() + b', "extra": 1e999}',
                                      "application/json", (400,)),
    "lone_surrogate": (lambda b, f: with_literal(b, f, '"a\\ud800b"'), "application/json", (400,)),
    "reversed_surrogates": (lambda b, f: with_literal(b, f, '"\\udc00\\ud800"'), "application/json", (400,)),
    "raw_nul_byte_in_string": (lambda b, f: with_literal(b, f, '"a\x00b"'), "application/json", (400,)),
    "raw_control_char_in_string": (lambda b, f: with_literal(b, f, '"a\x07b"'), "application/json", (400,)),
    "invalid_utf8": (lambda b, f: with_literal(b, f, '"PLACEHOLDER"').replace(b"PLACEHOLDER", b"\xff\xfe"),
                     "application/json", (400,)),
    "duplicate_keys": (lambda b, f: json.dumps(b)[:-1].encode() + b", " + json.dumps(f).encode() + b': "dup"}',
                       "application/json", (400,)),
    "text_plain": (lambda b, f: json.dumps(b).encode(), "text/plain", (415,)),
    "form_urlencoded": (lambda b, f: b"name=x&totalAmount=1", "application/x-www-form-urlencoded", (415,)),
    "multipart": (lambda b, f: b'--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--XX--\r\n',
                  "multipart/form-data; boundary=XX", (415,)),
    "xml": (lambda b, f: b"<name>x</name>", "application/xml", (415,)),
    "empty_body": (lambda b, f: b"", "application/json", (400,)),
    "whitespace_body": (lambda b, f: b"  \r\n\t ", "application/json", (400,)),
    "not_json": (lambda b, f: b"this is not json", "application/json", (400,)),
    "truncated_json": (lambda b, f: json.dumps(b).encode()[:-3], "application/json", (400,)),
    "trailing_garbage": (lambda b, f: json.dumps(b).encode() + b" x", "application/json", (400,)),
    "two_objects": (lambda b, f: json.dumps(b).encode() * 2, "application/json", (400,)),
    "json_array": (lambda b, f: json.dumps([b]).encode(), "application/json", (400,)),
    "json_string": (lambda b, f: b'"hello"', "application/json", (400,)),
    "json_number": (lambda b, f: b"42", "application/json", (400,)),
    "json_null": (lambda b, f: b"null", "application/json", (400,)),
    "json_true": (lambda b, f: b"true", "application/json", (400,)),
    "utf8_bom": (lambda b, f: b"\xef\xbb\xbf" + json.dumps(b).encode(), "application/json", (400,)),
    "utf16_body": (lambda b, f: json.dumps(b).encode("utf-16"), "application/json", (400,)),
    "wrong_type_object": (lambda b, f: with_literal(b, f, '{"$gt": ""}'), "application/json", (400,)),
    "wrong_type_list": (lambda b, f: with_literal(b, f, '["a"]'), "application/json", (400,)),
    "wrong_type_bool": (lambda b, f: with_literal(b, f, "true"), "application/json", (400,)),
    "null_value": (lambda b, f: with_literal(b, f, "null"), "application/json", (400,)),
}


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.name)
def test_bad_bodies_are_4xx_json(stack: Any, who: Dict[str, Any], route: BodyRoute) -> None:
    token = who[route.caller].id_token
    url = url_of(stack, who, route.path)
    jobs = []
    for case, (build, content_type, allowed) in BODY_CASES.items():
        raw = build(valid_body(route, who), route.field)
        jobs.append((f"{route.name} [{case}]",
                     lambda raw=raw, content_type=content_type: http.answer(url, route.method, who=token, raw=raw,
                                                                            content_type=content_type),
                     allowed))
    run_all(jobs)
    # the targets are untouched: the order is still PLACED with its original total
    order = http.answer(stack.orders_url, "GET", f"/orders/{who['order']['orderId']}", who=who["user"]).json()
    assert order == who["order"]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.name)
def test_missing_content_type_is_treated_as_json(stack: Any, who: Dict[str, Any], route: BodyRoute) -> None:
    """API Gateway and Chalice treat a body without Content-Type as JSON: accepted or 415, never 5xx."""
    if route.name.endswith("acknowledge"):
        pytest.skip("would acknowledge the shared order")
    body = valid_body(route, who)
    if route.name == "orders:POST /orders":
        body["orderId"] = f"bi-{uuid.uuid4().hex}"
    answer = http.answer(url_of(stack, who, route.path), route.method, body=body, who=who[route.caller],
                         content_type=None)
    assert problem(route.name, answer, (200, 415)) is None, answer.body
    if route.name.startswith("orders:PUT"):
        who["order"] = http.answer(stack.orders_url, "GET", f"/orders/{who['order']['orderId']}",
                                   who=who["user"]).json()


# Strings a client may legitimately send: accepted (and stored exactly) or refused with a 400.
UNICODE_STRINGS = {
    "emoji": f"{MARK} \U0001F355\U0001F525 pizza",
    "rtl": f"{MARK} \u0645\u0637\u0639\u0645 \u202e\u202d",
    "combining": f"{MARK} e\u0301\u0301\u0301",
    "surrogate_pair_escape": f"{MARK} \U0001F4A5",
    "zero_width": f"{MARK}\u200b\u200d\ufeff",
    "nul_escape": f"{MARK} a\u0000b",
    "newline": f"{MARK} a\nb",
    "cjk_long": f"{MARK} " + "\u6f22" * 150,
}


@pytest.mark.parametrize("case", sorted(UNICODE_STRINGS))
def test_unicode_strings_round_trip_or_400(stack: Any, who: Dict[str, Any], case: str) -> None:
    text = UNICODE_STRINGS[case]
    user, admin = who["user"], who["admin"]
    # orders: an item name
    body = marked_order(item_name=text)
    created = http.answer(stack.orders_url, "POST", "/orders", body, who=user)
    assert problem(f"orders [{case}]", created, (200, 400)) is None
    if created.status == 200:
        stored = http.answer(stack.orders_url, "GET", f"/orders/{body['orderId']}", who=user).json()
        assert stored["orderItems"][0]["name"] == text == created.json()["orderItems"][0]["name"]
    # users: a name
    made = http.answer(stack.users_url, "POST", "/users", {"name": text}, who=admin)
    assert problem(f"users [{case}]", made, (200, 400)) is None
    if made.status == 200:
        stored = http.answer(stack.users_url, "GET", f"/users/{made.json()['userid']}", who=admin).json()
        assert stored["name"] == text == made.json()["name"]


def test_gateway_refuses_oversized_declared_length_before_reading(stack: Any, who: Dict[str, Any]) -> None:
    """A Content-Length far over the gateway limit is refused (JSON 413) without the body being sent."""
    for base, path in ((stack.orders_url, "/orders"), (stack.users_url, "/users")):
        status, headers, body = _declared_only(base, path, who["admin"].id_token, 50 * GATEWAY_LIMIT)
        assert status == 413, body
        assert attacks.error_shape_problem(status, headers.get("content-type", ""), body) is None


def _declared_only(base: str, path: str, token: str, length: int) -> Tuple[int, Dict[str, str], bytes]:
    """Send headers declaring `length` bytes (with Expect: 100-continue) and no body."""
    parts = urlsplit(base)
    request = (f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nAuthorization: {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n"
               f"Connection: close\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=http.TIMEOUT) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, payload


# -- query parameters ----------------------------------------------------------------------

BAD_LIMITS = ["0", "101", "-1", "abc", "1e3", "10" * 20, "", " 5", "5 ", "\uff15", "0x10", "1.0", "+5",
              "1_0", "%00", "9" * 400]


@pytest.mark.parametrize("api", ["users", "orders"])
def test_out_of_range_limits_are_400(stack: Any, who: Dict[str, Any], api: str) -> None:
    url = stack.users_url + "/users" if api == "users" else stack.orders_url + "/orders"
    token = who["admin" if api == "users" else "user"].id_token
    jobs = [(f"{api} limit={value!r}", lambda value=value: http.answer(url, "GET", who=token, params={"limit": value}),
             (400,)) for value in BAD_LIMITS]
    jobs += [(f"{api} limit=100", lambda: http.answer(url, "GET", who=token, params={"limit": "100"}), (200,)),
             (f"{api} limit=1", lambda: http.answer(url, "GET", who=token, params={"limit": "1"}), (200,)),
             (f"{api} repeated limit", lambda: http.answer(url + "?limit=5&limit=500", "GET", who=token), (200, 400)),
             (f"{api} unknown param", lambda: http.answer(url, "GET", who=token, params={"foo": "\u0000" * 10}),
              (200, 400))]
    run_all(jobs)


def b64(value: Any, raw: Optional[bytes] = None) -> str:
    data = raw if raw is not None else json.dumps(value, ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def test_bad_order_next_tokens_are_400(stack: Any, who: Dict[str, Any]) -> None:
    user, other = who["user"], who["admin"]
    extra = marked_order()
    assert http.answer(stack.orders_url, "POST", "/orders", extra, who=user).status == 200
    page = http.answer(stack.orders_url, "GET", "/orders", who=user, params={"limit": 1}).json()
    real = page["nextToken"]
    me = user.sub
    flipped = real[:-2] + ("A" if real[-2] != "A" else "B") + real[-1]
    tokens = {
        "flipped_char": flipped,
        "truncated": real[:-4],
        "other_users_key": b64({"userId": other.sub, "orderId": page["orders"][0]["orderId"]}),
        "garbage": "!!!not-base64!!!",
        "percent": "%%%",
        "too_long": "A" * 3000,
        "not_json": b64(None, b"not json at all"),
        "json_list": b64(["userId", "orderId"]),
        "json_string": b64("token"),
        "missing_order_id": b64({"userId": me}),
        "extra_attribute": b64({"userId": me, "orderId": "a", "data": "x"}),
        "order_id_number": b64({"userId": me, "orderId": 5}),
        "order_id_typed": b64({"userId": me, "orderId": {"S": "a"}}),
        "order_id_empty": b64({"userId": me, "orderId": ""}),
        # keys the server never issues: an orderId that is not an orderId
        "order_id_non_ascii_1400_bytes": b64({"userId": me, "orderId": "\u00e9" * 700}),
        "order_id_nul": b64({"userId": me, "orderId": "\u0000"}),
        "order_id_65_chars": b64({"userId": me, "orderId": "a" * 65}),
        "order_id_slash": b64({"userId": me, "orderId": "a/b"}),
        "invalid_utf8": b64(None, b'{"userId": "' + me.encode() + b'", "orderId": "\xff"}'),
    }
    jobs = [(f"orders nextToken [{name}]",
             lambda token=token: http.answer(stack.orders_url, "GET", "/orders", who=user, params={"nextToken": token}),
             (400,)) for name, token in tokens.items()]
    for name, answer in run_all(jobs):
        assert b"orders" not in answer.body, name


def test_bad_user_next_tokens_are_400(stack: Any, who: Dict[str, Any]) -> None:
    admin = who["admin"]
    tokens = {
        "garbage": "!!!not-base64!!!",
        "too_long": "A" * 3000,
        "request_line_over_8_kib": "A" * 20_000,  # the API's 400, not a local 414 (headers in all: 64 KiB)
        "not_json": b64(None, b"\x00\x01\x02"),
        "json_list": b64(["userid"]),
        "wrong_attribute": b64({"userId": "a"}),
        "extra_attribute": b64({"userid": "a", "name": "x"}),
        "userid_number": b64({"userid": 1}),
        "userid_empty": b64({"userid": ""}),
        # keys the server never issues: a userid that is not a userid
        "userid_nul": b64({"userid": "\u0000"}),
        "userid_slash": b64({"userid": "../x"}),
        "userid_non_ascii": b64({"userid": "\U0001F4A5" * 300}),
    }
    jobs = [(f"users nextToken [{name}]",
             lambda token=token: http.answer(stack.users_url, "GET", "/users", who=admin, params={"nextToken": token}),
             (400,)) for name, token in tokens.items()]
    run_all(jobs)


# -- path parameters -----------------------------------------------------------------------

ODD_IDS = ["a%2Fb", "%2F", "..", "%2e%2e", "a%00b", "%00", "%20", "a%20b", "%C3%A9t%C3%A9", "%F0%9F%92%A5",
           "%E2%80%AE", "a" * 129, "a" * 500, "*", "%2A", "a%3Bb", "a%22b", "a'b", "%ff", "%",
           "a%0d%0aX-Evil:1", "%7B%7D", "a.b", "a~b", "a%2Bb"]
ODD_ORDER_IDS = ODD_IDS + ["a" * 65, "-" * 64, "null"]  # the last two are well-formed: 404


@pytest.mark.parametrize("api", ["users", "orders"])
def test_odd_path_parameters_are_4xx(stack: Any, who: Dict[str, Any], api: str) -> None:
    jobs = []
    for odd in ODD_IDS if api == "users" else ODD_ORDER_IDS:
        if api == "users":
            routes = [("GET", f"/users/{odd}", None), ("PUT", f"/users/{odd}", {"name": f"{MARK} odd"}),
                      ("DELETE", f"/users/{odd}", None)]
            base, token = stack.users_url, who["admin"].id_token
        else:
            routes = [("GET", f"/orders/{odd}", None), ("PUT", f"/orders/{odd}", {"totalAmount": 1}),
                      ("DELETE", f"/orders/{odd}", None),
                      ("POST", f"/orders/{odd}/acknowledge", {"userId": who["user"].sub})]
            base, token = stack.orders_url, who["user"].id_token
        for method, path, body in routes:
            tok = who["admin"].id_token if path.endswith("/acknowledge") else token
            raw = json.dumps(body).encode() if body is not None else b""
            jobs.append((f"{method} {path[:80]}", lambda base=base, method=method, path=path, raw=raw, tok=tok:
                         http.raw_answer(base, method, path.encode("latin-1"),
                                         [(b"Authorization", tok.encode()), (b"Content-Type", b"application/json")],
                                         raw), (400, 403, 404, 405)))
    run_all(jobs)


def test_dash_only_user_path_put_then_reads_back(stack: Any, who: Dict[str, Any]) -> None:
    """A syntactically valid but odd id is an ordinary record: the admin's PUT creates it exactly."""
    admin = who["admin"]
    userid = "-_" * 20
    r = http.answer(stack.users_url, "PUT", f"/users/{userid}", {"name": f"{MARK} dash"}, who=admin)
    assert r.status == 200 and r.json()["userid"] == userid
    assert http.answer(stack.users_url, "DELETE", f"/users/{userid}", who=admin).status == 200


# -- what is stored afterwards ------------------------------------------------------------

ORDER_FIELDS = {"orderId", "userId", "restaurantId", "orderItems", "totalAmount", "status", "orderTime"}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def number(attr: Dict[str, Any]) -> Decimal:
    assert set(attr) == {"N"}, attr
    value = Decimal(attr["N"])
    assert value.is_finite()
    return value


def check_order_item(item: Dict[str, Any], owner: str) -> None:
    assert item["userId"] == {"S": owner}
    data = item["data"]["M"]
    assert ORDER_FIELDS <= set(data), sorted(data)
    assert data["orderId"] == item["orderId"] and data["userId"] == item["userId"]
    assert set(data["restaurantId"]) <= {"S", "N"}
    total = number(data["totalAmount"])
    assert total >= 0 and total == total.quantize(Decimal("0.01"))
    assert data["status"]["S"] in {"PLACED", "ACKNOWLEDGED", "CANCELED"}
    assert TIME.fullmatch(data["orderTime"]["S"])
    items = data["orderItems"]["L"]
    assert 1 <= len(items) <= 100
    for entry in items:
        fields = entry["M"]
        assert set(fields) == {"id", "name", "price", "quantity"}, fields
        price = number(fields["price"])
        assert price >= 0 and price == price.quantize(Decimal("0.01"))
        quantity = number(fields["quantity"])
        assert quantity == quantity.to_integral_value() and 1 <= quantity <= 1000
        name = fields["name"]["S"]
        assert name.startswith(MARK) and name.encode("utf-8")


def test_nothing_half_written_or_unstorable(stack: Any, who: Dict[str, Any]) -> None:
    """Runs last: every order of the module's user and every user record it may have written is
    complete and holds only storable values."""
    user = who["user"]
    items = stack.ddb.query(TableName=stack.table("OrdersTable"), KeyConditionExpression="userId = :u",
                            ExpressionAttributeValues={":u": {"S": user.sub}}, ConsistentRead=True)["Items"]
    assert len(items) >= 2
    for item in items:
        check_order_item(item, user.sub)
    assert not stack.ddb.query(TableName=stack.table("OrdersTable"), KeyConditionExpression="userId = :u",
                               ExpressionAttributeValues={":u": {"S": who["admin"].sub}})["Items"]
    scan = stack.ddb.get_paginator("scan").paginate(TableName=stack.table("UsersTable"), ConsistentRead=True)
    mine = [item for page in scan for item in page["Items"] if item.get("name", {}).get("S", "").startswith(MARK)]
    assert mine
    for item in mine:
        assert {"userid", "name", "createdAt", "updatedAt", "timestamp"} <= set(item) <= \
            {"userid", "name", "email", "createdAt", "updatedAt", "timestamp"}, item
        assert all(set(value) == {"S"} for value in item.values()), item
        assert "\ud800" not in item["name"]["S"]
