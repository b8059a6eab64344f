"""Schemathesis fuzzing of both APIs from their committed OpenAPI documents (README.md, "What the test
suite proves": "Bad input and fuzzing").

For every operation of users_app/openapi.json and orders_app/openapi.json: schema-conforming
(positive) and schema-violating (negative) cases, bounded (FUZZ_EXAMPLES per operation and mode,
no deadline, a fixed seed unless FUZZ_RANDOM=1), sent to the local stack with a fresh user's
token (an admin's on admin routes). Operations with a path parameter run twice: with generated
ids and with the id of a record the fuzz user owns, so edits, cancels, acknowledges and deletes
really get accepted. Checked for every response: no 5xx, every 4xx has the JSON error shape, no
negative case is accepted, no schema-valid body is refused by validation (cross-field rules
aside: the document and the models agree). Then the stored data must be exactly what the
accepted (2xx) writes said: every accepted write is logged, and the tables are diffed against the
model built from the log (the fresh user's orders, every user record a logged write touched).
Skips with a reason when an OpenAPI document is missing. FUZZ_DEBUG=1 prints every case.

Then every schemathesis check, as `st run <document> --checks all` runs them (test_every_schemathesis_check):
schemathesis's own engine over each document as published (security included), all phases (examples,
coverage, fuzzing, stateful), every built-in check (not_a_server_error, status code, content type,
response headers and schema conformance, positive data acceptance, negative data rejection, missing
required header, unsupported method, Allow header, use after free, resource availability, ignored auth,
object-level authorization), bounded by examples (FUZZ_ENGINE_EXAMPLES per operation and phase, default
EXAMPLES // 2; no time limit: with one, the engine repeats its phases until the time is up), a fixed
seed unless FUZZ_RANDOM=1, with the same tokens (the
fresh user's ID token, an admin's on admin routes). Each check runs wrapped: a failure passes only when
one of CONTRACT_EXCEPTIONS below (check, operations, the exact answer, and the workshop's contract that
requires it) matches it; everything else fails the test. Its accepted writes join the data diff.
"""
import json
import os
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

import pytest
import requests

from tests.support import attacks

pytestmark = pytest.mark.integration

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is pinned in requirements-dev.txt")
from boto3.dynamodb.types import TypeDeserializer  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.engine import events as engine_events  # noqa: E402
from schemathesis.engine import from_schema  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from deploy.local.gateway_responses import missing_authentication_token  # noqa: E402
from deploy.project import ROOT  # noqa: E402
from deploy.project import app as project_app  # noqa: E402

DOCUMENTS = {"users": ROOT / "users_app" / "openapi.json", "orders": ROOT / "orders_app" / "openapi.json"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
NEGATIVE_EXAMPLES = max(1, EXAMPLES // 2)
ADMIN_OPERATIONS = {("users", "GET", "/users"), ("users", "POST", "/users"),
                    ("orders", "POST", "/orders/{orderId}/acknowledge")}
TIMEOUT = 15


@dataclass
class Write:
    api: str
    method: str
    path: str      # as sent
    status: int
    body: Any      # the parsed 2xx response


@dataclass
class FuzzLog:
    sent: int = 0
    by_status: Dict[int, int] = field(default_factory=dict)
    writes: List[Write] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    accepted_negative: List[str] = field(default_factory=list)
    rejected_positive: List[Tuple[str, Dict[str, str], str]] = field(default_factory=list)  # (operation, Fields, body)


LOG = FuzzLog()


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not LOG.sent:
        return
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(LOG.by_status.items()))
    line = (f"fuzz: {LOG.sent} cases sent ({statuses}); {len(LOG.writes)} accepted writes; "
            f"{len(LOG.problems)} problems; {len(LOG.accepted_negative)} negative cases accepted; "
            f"{len(LOG.rejected_positive)} schema-valid bodies refused")
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + line)


def load(api: str) -> Any:
    path = DOCUMENTS[api]
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} does not exist yet (generate it with deploy/codegen/openapi.py)")
    return schemathesis.openapi.from_dict(without_security(json.loads(path.read_text())))


def without_security(document: Dict[str, Any]) -> Dict[str, Any]:
    """The document minus its security requirements: the fuzzer sends a real token itself (the
    auth suite covers bad tokens), so schemathesis must not generate or drop Authorization."""
    document.pop("security", None)
    document.get("components", {}).pop("securitySchemes", None)
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return document


def declared_query(api: str, method: str, template: str) -> set:
    operation = json.loads(DOCUMENTS[api].read_text())["paths"][template][method.lower()]
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}


@pytest.fixture(scope="module")
def fuzzers(stack: Any) -> Dict[str, Any]:
    """A fresh user (whose items are the diff's scope), an admin, and a record of each kind they own."""
    user, admin = stack.new_user(), stack.new_user(admin=True)
    OWNERS.add(user.sub)
    profile = requests.put(f"{stack.users_url}/users/{user.sub}", json={"name": "Fuzz Owner"},
                           headers={"Authorization": user.id_token}, timeout=TIMEOUT)
    assert profile.status_code == 200, profile.text
    LOG.writes.append(Write("users", "PUT", f"/users/{user.sub}", 200, json.loads(profile.content,
                                                                                   parse_float=Decimal)))
    seeds = {}
    for method in ("GET", "PUT", "DELETE", "POST"):  # one order per operation on /orders/{orderId}[...]
        order = {"orderId": f"fuzz-seed-{method.lower()}", "restaurantId": 1, "totalAmount": 3,
                 "orderItems": [{"id": 1, "name": "Seed", "price": 3, "quantity": 1}]}
        created = requests.post(f"{stack.orders_url}/orders", json=order, headers={"Authorization": user.id_token},
                                timeout=TIMEOUT)
        assert created.status_code == 200, created.text
        LOG.writes.append(Write("orders", "POST", "/orders", 200, json.loads(created.content, parse_float=Decimal)))
        seeds[method] = order["orderId"]
    return {"user": user, "admin": admin, "orders": seeds}


def operations(api: str) -> List[Tuple[str, str]]:
    """(METHOD, path template) of every operation in the document (for parametrize ids)."""
    path = DOCUMENTS[api]
    if not path.exists():
        return [("SKIP", "missing")]
    document = json.loads(path.read_text())
    return [(method.upper(), template) for template, item in document["paths"].items()
            for method in item if method in ("get", "put", "post", "delete", "patch")]


def base_url(stack: Any, api: str) -> str:
    return stack.users_url if api == "users" else stack.orders_url


def header(response: Any, name: str) -> str:
    """A response header (schemathesis keeps every header as a list of values)."""
    for key, value in response.headers.items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return ""


# Rules a JSON schema cannot state (they compare a body field with the path or the caller).
CROSS_FIELD = ("must equal the user id in the path", "caller's own id", "must be omitted or be the caller")


def record(api: str, case: Any, response: Any, mode: Optional[GenerationMode]) -> None:
    """Log one answer. `mode` None: a case of schemathesis's engine, whose own checks judge positive and
    negative data (test_every_schemathesis_check); here only 5xx, the error shape and accepted writes."""
    LOG.sent += 1
    LOG.by_status[response.status_code] = LOG.by_status.get(response.status_code, 0) + 1
    where = f"{api} {case.method} {case.formatted_path} ({mode.value if mode else 'engine'})"
    if os.environ.get("FUZZ_DEBUG"):
        print("FUZZ", response.status_code, where, repr(case.query)[:200], repr(case.body)[:200],
              response.content[:150])
    if response.status_code >= 500:
        LOG.problems.append(f"{where}: {response.status_code} {response.content[:200]!r}")
    elif response.status_code >= 400:
        shape = attacks.error_shape_problem(response.status_code, header(response, "content-type"), response.content)
        if not shape and mode is GenerationMode.POSITIVE and response.status_code == 400:
            body = json.loads(response.content)
            fields = body.get("Fields") or {}
            if body["Code"] == "ValidationError" and not any(rule in str(why) for why in fields.values()
                                                             for rule in CROSS_FIELD):
                LOG.rejected_positive.append((f"{api} {case.method} {case.operation.path}", fields, repr(case.body)))
        if shape:
            LOG.problems.append(f"{where}: {response.status_code} {shape} body={response.content[:150]!r} "
                                f"query={case.query!r}")
    elif 200 <= response.status_code < 300:
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            LOG.problems.append(f"{where}: {response.status_code} body is not JSON {response.content[:200]!r}")
            return
        if case.method in ("POST", "PUT", "DELETE"):
            LOG.writes.append(Write(api, case.method, case.formatted_path, response.status_code, body))
        unknown_query = set(case.query or {}) - declared_query(api, case.method, case.operation.path)
        if mode is GenerationMode.NEGATIVE and not unknown_query:  # unknown query parameters are ignored
            LOG.accepted_negative.append(f"{where}: body={case.body!r} query={case.query!r}")


def fuzz_operation(stack: Any, fuzzers: Dict[str, Any], api: str, method: str, template: str,
                   mode: GenerationMode, fixed_path: bool) -> None:
    schema = load(api)
    operation = schema[template][method]
    admin = (api, method, template) in ADMIN_OPERATIONS
    token = fuzzers["admin" if admin else "user"].id_token
    path_parameters: Optional[Dict[str, str]] = None
    body: Any = None
    if fixed_path:
        name = "userid" if api == "users" else "orderId"
        path_parameters = {name: fuzzers["user"].sub if api == "users" else fuzzers["orders"][method]}
    kwargs: Dict[str, Any] = {"path_parameters": path_parameters} if path_parameters else {}
    if fixed_path and template.endswith("/acknowledge") and mode is GenerationMode.POSITIVE:
        body = {"userId": fuzzers["user"].sub}
        kwargs["body"] = body
    strategy = operation.as_strategy(generation_mode=mode, **kwargs)
    url = base_url(stack, api)

    @settings(max_examples=EXAMPLES if mode is GenerationMode.POSITIVE else NEGATIVE_EXAMPLES, deadline=None,
              database=None, derandomize=not os.environ.get("FUZZ_RANDOM"), phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=url, headers={"Authorization": token}, timeout=TIMEOUT)
        record(api, case, response, mode)

    try:
        run()
    except Unsatisfiable:
        pytest.skip("nothing to vary: with the path fixed this operation has no other input")


def cases() -> List[Any]:
    out = []
    for api in ("users", "orders"):
        for method, template in operations(api):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                variants = [False, True] if "{" in template else [False]
                for fixed in variants:
                    out.append(pytest.param(api, method, template, mode, fixed,
                                            id=f"{api}:{method} {template}:{mode.value}{':own-id' if fixed else ''}"))
    # deletes last, so the other operations find the fuzz user's records
    return sorted(out, key=lambda p: p.values[1] == "DELETE")


@pytest.mark.parametrize("api,method,template,mode,fixed_path", cases())
def test_fuzz_operation(stack: Any, fuzzers: Dict[str, Any], api: str, method: str, template: str,
                        mode: GenerationMode, fixed_path: bool) -> None:
    if method == "SKIP":
        load(api)  # skips with the reason
    before = len(LOG.problems)
    fuzz_operation(stack, fuzzers, api, method, template, mode, fixed_path)
    new = LOG.problems[before:]
    assert not new, "\n".join(new[:20])


# -- every schemathesis check, as `st run --checks all` runs them ------------------------------

load_all_checks()
BUILTIN_CHECKS = tuple(name for name in CHECKS.get_all_names() if not name.startswith("contract_"))
ENGINE_EXAMPLES = int(os.environ.get("FUZZ_ENGINE_EXAMPLES", str(max(1, EXAMPLES // 2))))
TITLES = {"Users service": "users", "Orders service": "orders"}  # info.title -> api


def error_code(response: Any) -> Tuple[Optional[str], Dict[str, Any]]:
    """(Code, Fields) of an error answer in the services' shape, else (None, {})."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None, {}
    if not isinstance(body, dict):
        return None, {}
    return body.get("Code"), body.get("Fields") or {}


def answers(status: int, codes: Tuple[str, ...], fields: Optional[Dict[str, str]] = None) -> Callable[[Any, Any], bool]:
    def match(response: Any, case: Any) -> bool:
        code, found = error_code(response)
        return response.status_code == status and code in codes and (fields is None or found == fields)
    return match


def canceled_order(response: Any, case: Any) -> bool:
    try:
        return response.status_code == 200 and json.loads(response.content).get("status") == "CANCELED"
    except (ValueError, AttributeError):
        return False


OWNERS: Set[str] = set()  # the fuzz user's sub (the `fuzzers` fixture), who creates every order the engine makes


def names_another_owner(response: Any, case: Any) -> bool:
    """A 404 OrderNotFound to an acknowledge whose body names someone other than the orders' owner."""
    owner = case.body.get("userId") if isinstance(case.body, dict) else None
    return answers(404, ("OrderNotFound",))(response, case) and owner not in OWNERS


def as_deployed_for_an_undeclared_method(api: str) -> Callable[[Any, Any], bool]:
    """The template's MISSING_AUTHENTICATION_TOKEN answer (status and body), exactly."""
    expected = missing_authentication_token(str(project_app(api).path))

    def match(response: Any, case: Any) -> bool:
        try:
            return response.status_code == expected.status and json.loads(response.content) == json.loads(
                expected.body)
        except ValueError:
            return False
    return match


def holds_a_workshop_era_user(response: Any, case: Any) -> bool:
    """A 200 whose users include one this service never wrote (no createdAt: stored by the workshop's own
    service, or directly in the table), while every user it wrote has its times as strings."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    users = body if isinstance(body, list) else [body]  # GET /users is a page (an array), GET /users/{userid} one
    ours = [u for u in users if isinstance(u, dict) and "createdAt" in u]
    return response.status_code == 200 and len(ours) < len(users) and all(
        isinstance(u.get(key), str) for u in ours for key in ("createdAt", "updatedAt", "timestamp"))


@dataclass(frozen=True)
class ContractException:
    """A schemathesis finding the workshop's contract requires: `check` failing on one of `operations`
    ("users GET /users", ...; "*" for every operation of `apis`) with exactly the answer `matches`."""

    name: str
    check: str
    apis: Tuple[str, ...]
    operations: Tuple[str, ...]
    matches: Callable[[Any, Any], bool]  # (response, case)
    reason: str

    def covers(self, check: str, api: str, operation: str, response: Any, case: Any) -> bool:
        return (check == self.check and api in self.apis and ("*" in self.operations or operation in self.operations)
                and self.matches(response, case))


# Every exception, and why the contract needs it. Nothing else is excused.
CONTRACT_EXCEPTIONS = (
    ContractException(
        "state conflict", "positive_data_acceptance", ("orders",),
        ("PUT /orders/{orderId}", "DELETE /orders/{orderId}", "POST /orders/{orderId}/acknowledge"),
        answers(400, ("OrderNotPlaced",)),
        "A change to an order that is no longer PLACED (edit, cancel or acknowledge after a cancel or an "
        "acknowledge) is a 400 OrderNotPlaced: the workshop's tests pin 400 for cancelling an order that is not "
        "PLACED. A schema cannot say which state the stored order is in."),
    ContractException(
        "server-owned fields only unchanged", "positive_data_acceptance", ("orders",), ("PUT /orders/{orderId}",),
        answers(400, ("StatusChanged", "OrderTimeChanged", "UserIdChanged", "OrderIdChanged", "UpdatedAtChanged")),
        "The workshop's client sends the order back in an edit, so status, orderTime, userId, orderId and "
        "updatedAt are accepted, but only unchanged (README, Orders API): equal to the stored value, which a "
        "schema cannot state."),
    ContractException(
        "opaque nextToken", "positive_data_acceptance", ("users", "orders"), ("GET /users", "GET /orders"),
        answers(400, ("InvalidNextToken",)),
        "A nextToken is opaque and bound to its caller: any string fits the schema, only one from a previous "
        "page is valid (README: 400 InvalidNextToken, tampered or another user's)."),
    ContractException(
        "a body's userId is the caller's", "positive_data_acceptance", ("orders",), ("POST /orders",),
        answers(400, ("ValidationError",), {"userId": "must be omitted or be the caller's own id"}),
        "POST /orders takes a userId only when it names the caller (README: 400 for a userId other than the "
        "caller's); the schema cannot name the caller."),
    ContractException(
        "a body's userid is the path's", "positive_data_acceptance", ("users",), ("PUT /users/{userid}",),
        answers(400, ("ValidationError",), {"userid": "must equal the user id in the path (or be left out)"}),
        "PUT /users/{userid} takes a userid only when it equals the path's (clients echo a GET back); the "
        "schema cannot refer to the path."),
    ContractException(
        "acknowledge names the owner", "ensure_resource_availability", ("orders",),
        ("POST /orders/{orderId}/acknowledge",), names_another_owner,
        "An admin acknowledges an order under the owner named in the body ({\"userId\": \"<owner's sub>\"}, "
        "README): orders are kept per user, and another user's order is a 404 exactly like a missing one. Just "
        "created by the fuzz user, the order is a 404 to an acknowledge that names anyone else."),
    ContractException(
        "DELETE /orders/{orderId} cancels", "use_after_free", ("orders",), ("GET /orders/{orderId}",),
        canceled_order,
        "The workshop pins DELETE /orders/{orderId} as a cancel: 200 with status CANCELED, and the order stays "
        "readable, CANCELED (DESIGN.md section 2), so a read after it is a 200, not a 404."),
    ContractException(
        "workshop-era users are returned as stored", "response_schema_conformance", ("users",),
        ("GET /users", "GET /users/{userid}"), holds_a_workshop_era_user,
        "The table keeps the workshop's schema so an existing deployment's data works (DESIGN.md section 2): a "
        "user the workshop's service stored (no createdAt or updatedAt, a timestamp it wrote as a number) is "
        "read back as stored, which the document, describing the users this service writes, does not cover. "
        "tests/integration/test_users_api.py stores one in the shared stack."),
    ContractException(
        "undeclared methods answer as deployed", "unsupported_method", ("users",), ("*",),
        as_deployed_for_an_undeclared_method("users"),
        "API Gateway answers a method the REST API does not declare with its MISSING_AUTHENTICATION_TOKEN "
        "gateway response, which the merge template makes a JSON 404 NotFound (no 405 with Allow); the local "
        "gateway answers the same, read from the template. The deployed answer is the reference."),
    ContractException(
        "undeclared methods answer as deployed", "unsupported_method", ("orders",), ("*",),
        as_deployed_for_an_undeclared_method("orders"),
        "As for users: API Gateway's MISSING_AUTHENTICATION_TOKEN, the template's JSON 404 NotFound."),
)


@dataclass
class EngineLog:
    excused: Dict[Tuple[str, str, str], int] = field(default_factory=dict)  # (exception, check, operation) -> n
    failures: List[str] = field(default_factory=list)


ENGINE = {"users": EngineLog(), "orders": EngineLog()}


def api_of(case: Any) -> str:
    return TITLES[case.operation.schema.raw_schema["info"]["title"]]


def contract_wrapped(name: str) -> Callable[..., Optional[bool]]:
    """The built-in check `name`, whose failures pass only when a CONTRACT_EXCEPTIONS entry covers them."""
    builtin = CHECKS.get_one(name)

    def check(ctx: Any, response: Any, case: Any) -> Optional[bool]:
        try:
            return builtin(ctx, response, case)
        except (AssertionError, BaseExceptionGroup) as exc:  # a Failure, or several as a FailureGroup
            if isinstance(exc, BaseExceptionGroup) and not all(isinstance(e, AssertionError) for e in exc.exceptions):
                raise
            api, operation = api_of(case), f"{case.operation.method.upper()} {case.operation.path}"
            for exception in CONTRACT_EXCEPTIONS:
                if exception.covers(name, api, operation, response, case):
                    key = (exception.name, name, operation)
                    ENGINE[api].excused[key] = ENGINE[api].excused.get(key, 0) + 1
                    return None
            raise

    check.__name__ = check.__qualname__ = f"contract_{name}"
    return check


def fuzz_log(ctx: Any, response: Any, case: Any) -> None:
    """Not a check: logs each answer once, for the data diff and the JSON error shape (`record`)."""
    record(api_of(case), case, response, None)
    return None


@pytest.fixture(scope="module")
def contract_checks() -> Iterator[List[str]]:
    """The wrapped checks and the logger, registered for this module's engine runs only."""
    wrapped = [contract_wrapped(name) for name in BUILTIN_CHECKS]
    for check in wrapped + [fuzz_log]:
        CHECKS.register(check)
    try:
        yield [check.__name__ for check in wrapped]
    finally:
        for check in wrapped + [fuzz_log]:
            CHECKS.unregister(check.__name__)


def engine_schema(api: str, url: str, fuzzers: Dict[str, Any]) -> Any:
    seed = {} if os.environ.get("FUZZ_RANDOM") else {"seed": int(os.environ.get("FUZZ_SEED", "18"))}
    config = SchemathesisConfig.from_dict({
        **seed,
        "cache": {"enabled": False},
        "continue-on-failure": True,
        "request-timeout": TIMEOUT,
        "generation": {"max-examples": ENGINE_EXAMPLES},
        # the built-ins run through their contract_* wrappers (same function, same configuration)
        "checks": {name: {"enabled": False} for name in BUILTIN_CHECKS},
    })
    schema = schemathesis.openapi.from_dict(json.loads(DOCUMENTS[api].read_text()), config=config)
    schema.config.update(base_url=url)

    class Tokens:
        """The same tokens as the suite above: an admin's ID token on admin routes, else the fuzz user's."""

        def get(self, case: Any, ctx: Any) -> Dict[str, str]:
            return {"user": fuzzers["user"].id_token, "admin": fuzzers["admin"].id_token}

        def set(self, case: Any, data: Dict[str, str], ctx: Any) -> None:
            admin = (api, case.method.upper(), case.operation.path) in ADMIN_OPERATIONS
            case.headers = {**(case.headers or {}), "Authorization": data["admin" if admin else "user"]}

    schema.auth(refresh_interval=None)(Tokens)
    return schema


def answered(recorder: Any, case_id: str) -> str:
    """The answer a failed check judged, for the failure message: status and the start of the body."""
    interaction = recorder.interactions.get(case_id)
    response = getattr(interaction, "response", None)
    if response is None:
        return "(no response recorded)"
    return f"-> {response.status_code} {response.content[:300]!r}"


@pytest.mark.parametrize("api", ["users", "orders"])
def test_every_schemathesis_check(stack: Any, fuzzers: Dict[str, Any], contract_checks: List[str], api: str,
                                  request: pytest.FixtureRequest) -> None:
    if not DOCUMENTS[api].exists():
        load(api)  # skips with the reason
    assert len(contract_checks) == len(BUILTIN_CHECKS) >= 14, contract_checks  # `--checks all`, every one
    log, ran, before, started = ENGINE[api], set(), len(LOG.problems), time.monotonic()
    for event in from_schema(engine_schema(api, base_url(stack, api), fuzzers)).execute():
        if isinstance(event, engine_events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for node in checks:
                    ran.add(node.name)
                    if node.failure_info is not None:
                        log.failures.append(f"{node.name} on {event.recorder.label}: "
                                            f"{node.failure_info.failure.title}\n{node.failure_info.code_sample}"
                                            f"\n{answered(event.recorder, case_id)}")
        elif isinstance(event, (engine_events.NonFatalError, engine_events.FatalError)):
            log.failures.append(f"engine error: {getattr(event, 'info', event)}")
        elif isinstance(event, engine_events.PhaseFinished) and os.environ.get("FUZZ_DEBUG"):
            print("ENGINE", api, event.phase.name, event.status, f"{time.monotonic() - started:.1f}s")
    summary = ", ".join(f"{n}x {name} ({check}, {operation})" for (name, check, operation), n in
                        sorted(log.excused.items()))
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print(f"\n{api}: checks run {sorted(ran)}; excused by the contract: {summary or 'none'}")
    assert "fuzz_log" in ran and {f"contract_{name}" for name in ("not_a_server_error", "positive_data_acceptance",
                                                                  "negative_data_rejection")} <= ran
    assert not log.failures, "\n\n".join(log.failures[:10])
    assert not LOG.problems[before:], "\n".join(LOG.problems[before:][:20])  # 5xx, or an error not in our shape


# -- the stored data is exactly what the accepted writes said --------------------------------

_DESERIALIZE = TypeDeserializer()


def plain(item: Dict[str, Any]) -> Dict[str, Any]:
    return {name: _DESERIALIZE.deserialize(value) for name, value in item.items()}


def normalised(value: Any) -> Any:
    """Numbers compared by value (1 == 1.0 == Decimal('1')); sets (none expected) as sorted lists."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalised(v) for v in value]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value).normalize()
    return value


def orders_model(user_sub: str) -> Tuple[Dict[str, Any], List[str]]:
    """orderId -> the document the last accepted write returned; and replay mismatches."""
    model: Dict[str, Any] = {}
    created: Dict[str, Any] = {}
    problems = []
    for write in LOG.writes:
        if write.api != "orders":
            continue
        doc = write.body
        if not isinstance(doc, dict) or doc.get("userId") != user_sub:
            continue  # the admin's acknowledges of other users' orders cannot happen (404), others' writes n/a
        order_id = doc["orderId"]
        if write.method == "POST" and write.path == "/orders":
            if order_id in created:
                # an idempotent replay: the first response again, byte for byte; not a write
                if normalised(doc) != normalised(created[order_id]):
                    problems.append(f"replay of {order_id} returned {doc} instead of {created[order_id]}")
                continue
            created[order_id] = doc
        model[order_id] = doc
    return model, problems


def users_model() -> Dict[str, Optional[Dict[str, Any]]]:
    model: Dict[str, Optional[Dict[str, Any]]] = {}
    for write in LOG.writes:
        if write.api != "users":
            continue
        if write.method == "DELETE":
            model[write.path.rsplit("/", 1)[1]] = None
        else:
            model[write.body["userid"]] = write.body
    return model


def test_stored_data_is_exactly_what_accepted_writes_said(stack: Any, fuzzers: Dict[str, Any]) -> None:
    if not LOG.sent:
        pytest.skip("no fuzz cases ran (see the skipped fuzz tests)")
    user = fuzzers["user"]
    model, replay_problems = orders_model(user.sub)
    assert not replay_problems, "\n".join(replay_problems[:10])
    pages = stack.ddb.get_paginator("query").paginate(
        TableName=stack.table("OrdersTable"), KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": user.sub}}, ConsistentRead=True)
    stored = {item["orderId"]: item for page in pages for item in (plain(i) for i in page["Items"])}
    assert sorted(stored) == sorted(model), "orders stored vs. accepted creates differ"
    diffs = [f"{order_id}: stored {stored[order_id]['data']} != last accepted {model[order_id]}"
             for order_id in model if normalised(stored[order_id]["data"]) != normalised(model[order_id])]
    assert not diffs, "\n".join(diffs[:10])
    users = users_model()
    assert user.sub in users
    mismatched = []
    for userid, expected in users.items():
        item = stack.ddb.get_item(TableName=stack.table("UsersTable"), Key={"userid": {"S": userid}},
                                  ConsistentRead=True).get("Item")
        got = plain(item) if item else None
        if normalised(got) != normalised(expected):
            mismatched.append(f"{userid!r}: stored {got} != last accepted {expected}")
    assert not mismatched, "\n".join(mismatched[:10])


INDEX = re.compile(r"\[\d+\]")


def test_every_schema_valid_body_passes_validation() -> None:
    """A body the published schema allows is not refused by the models (cross-field rules aside):
    the document says exactly what the code accepts."""
    if not LOG.sent:
        pytest.skip("no fuzz cases ran")
    reasons: Dict[str, int] = {}
    for operation, fields, _ in LOG.rejected_positive:
        for name, why in fields.items():
            key = f"{operation} {INDEX.sub('[]', name)}: {why}"
            reasons[key] = reasons.get(key, 0) + 1
    examples = [f"{operation}: {body} -> {fields}" for operation, fields, body in LOG.rejected_positive[:3]]
    assert not LOG.rejected_positive, "\n".join(f"{n}x {why}" for why, n in sorted(reasons.items())) + \
        "\nfor example:\n" + "\n".join(examples)


def test_no_negative_case_was_accepted() -> None:
    """A case that violates the published schema must be refused: the document and the code agree."""
    if not LOG.sent:
        pytest.skip("no fuzz cases ran")
    assert not LOG.accepted_negative, "\n".join(LOG.accepted_negative[:20])
