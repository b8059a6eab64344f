"""Authentication and authorization attacks on every route of both APIs, over HTTP (README.md,
"What the test suite proves": "Attacks").

Table-driven: every token attack in `tests.support.attacks.forged_tokens` (each invalid in exactly one
way), no token, oversized and non-ASCII Authorization headers, and admin-group look-alikes in
otherwise VALID tokens (signed with moto's key, which the local stack trusts). Each must get a
401 (403 for a valid non-admin on an admin route; a JSON 413/431 for an oversized header), never
a 5xx, never a dropped connection, always the JSON error shape. Baselines prove the attack
tokens are one flaw away from success: the same claims correctly signed get 2xx on every route.

Then the ownership matrix (every route x owner / other user / admin / anonymous), paginated
lists (a nextToken replayed by another user is a 400) and idempotency keys across users.

A one-line summary of attack requests sent and blocked is printed at the end of the module.
"""
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from tests.support import attacks, http
from tests.support.http import call
from tests.support.orders import order_body

pytestmark = pytest.mark.integration

POOL = ThreadPoolExecutor(max_workers=4)


# -- the routes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    api: str            # "users" | "orders"
    method: str
    template: str       # {user} = a user record's id, {order} = an order id
    admin_only: bool = False

    @property
    def name(self) -> str:
        return f"{self.api}:{self.method} {self.template}"


ROUTES = [
    Route("users", "GET", "/users", admin_only=True),
    Route("users", "POST", "/users", admin_only=True),
    Route("users", "GET", "/users/{user}"),
    Route("users", "PUT", "/users/{user}"),
    Route("users", "DELETE", "/users/{user}"),
    Route("orders", "POST", "/orders"),
    Route("orders", "GET", "/orders"),
    Route("orders", "GET", "/orders/{order}"),
    Route("orders", "PUT", "/orders/{order}"),
    Route("orders", "DELETE", "/orders/{order}"),
    Route("orders", "POST", "/orders/{order}/acknowledge", admin_only=True),
]


@dataclass
class Target:
    """What a route's placeholders point at, and who owns the order."""

    user: str
    order: str
    order_owner: str
    label: str = "Attacker"  # names written by a request that got through start with it

    def url(self, stack: Any, route: Route) -> str:
        base = stack.users_url if route.api == "users" else stack.orders_url
        return base + route.template.replace("{user}", self.user).replace("{order}", self.order)

    def body(self, route: Route) -> Optional[Dict[str, Any]]:
        """A body that would succeed if the caller were allowed (so only auth can stop it)."""
        if route.method == "POST" and route.template == "/users":
            return {"name": f"{self.label} Made"}
        if route.method == "PUT" and route.api == "users":
            return {"name": f"{self.label} Changed"}
        if route.method == "POST" and route.template == "/orders":
            return order_body(str(uuid.uuid4()))
        if route.method == "PUT":
            return {"totalAmount": 99.99}
        if route.template.endswith("/acknowledge"):
            return {"userId": self.order_owner}
        return None


# -- counting ------------------------------------------------------------------------------

@dataclass
class Tally:
    sent: int = 0
    blocked: int = 0
    failures: List[str] = field(default_factory=list)


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def attack_summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    line = (f"auth attacks: {TALLY.sent} requests sent, {TALLY.blocked} blocked, "
            f"{TALLY.sent - TALLY.blocked} not blocked")
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + line)
    else:  # pragma: no cover
        print(line)


def judge(name: str, answer: http.Answer, allowed: Tuple[int, ...]) -> Optional[str]:
    """Count the attack; None if it was blocked properly, else what went wrong."""
    TALLY.sent += 1
    if answer.error:
        problem = f"{name}: no HTTP answer ({answer.error})"
    elif answer.status not in allowed:
        problem = f"{name}: {answer.status} (expected {allowed}) {answer.body[:160]!r}"
    else:
        shape = attacks.error_shape_problem(answer.status, answer.content_type, answer.body)
        problem = f"{name}: {answer.status} {shape}" if shape else None
    if problem is None:
        TALLY.blocked += 1
    else:
        TALLY.failures.append(problem)
    return problem


def fire(jobs: List[Tuple[str, Any]], allowed: Tuple[int, ...]) -> List[str]:
    """Run (name, thunk -> Answer) jobs concurrently; return the problems."""
    answers = list(POOL.map(lambda job: (job[0], job[1]()), jobs))
    return [p for p in (judge(name, answer, allowed) for name, answer in answers) if p]


# -- fixtures ------------------------------------------------------------------------------

def send(stack: Any, route: Route, target: Target, token: Optional[str]) -> http.Answer:
    return http.answer(target.url(stack, route), route.method, body=target.body(route), who=token)


def create_order(stack: Any, user: Any, order_id: Optional[str] = None) -> Dict[str, Any]:
    r = call(stack.orders_url, "POST", "/orders", order_body(order_id or str(uuid.uuid4())), who=user)
    assert r.status_code == 200, r.text
    return r.json()


def put_profile(stack: Any, user: Any, name: str) -> Dict[str, Any]:
    r = call(stack.users_url, "PUT", f"/users/{user.sub}", {"name": name}, who=user)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def cast(stack: Any) -> Dict[str, Any]:
    """admin (whose real token the forgeries are built from), victim (a regular user), and the
    records the attacks aim at."""
    admin, victim, bystander = stack.new_user(admin=True), stack.new_user(), stack.new_user()
    put_profile(stack, victim, "Victim")
    put_profile(stack, bystander, "Bystander")
    admin_order = create_order(stack, admin)
    victim_order = create_order(stack, victim)
    return {"admin": admin, "victim": victim, "bystander": bystander,
            "admin_order": admin_order, "victim_order": victim_order,
            "admin_claims": attacks.unverified_claims(admin.id_token),
            "victim_claims": attacks.unverified_claims(victim.id_token)}


@pytest.fixture(scope="module")
def foreign_pool_token(stack: Any) -> Iterator[str]:
    """A genuine ID token from a second user pool in the same Cognito (same signing key!)."""
    idp = stack.idp
    pool_id = idp.create_user_pool(PoolName=f"attacker-{uuid.uuid4().hex[:8]}",
                                   UsernameAttributes=["email"])["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="attacker", GenerateSecret=False,
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]
    client_id = client["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName=stack.admin_group)
    email, password = "mallory@example.com", "Mallory-Pw-12345"
    idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=stack.admin_group)
    try:
        tokens = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]
        yield tokens["IdToken"]
    finally:
        idp.delete_user_pool(UserPoolId=pool_id)  # ours alone, and gone after the module


@pytest.fixture(scope="module")
def forged(cast: Dict[str, Any], foreign_pool_token: str) -> Dict[str, str]:
    admin = cast["admin"]
    return attacks.forged_tokens(cast["admin_claims"], admin.access_token, foreign_pool_token, admin.id_token)


@pytest.fixture(scope="module")
def shared_target(cast: Dict[str, Any]) -> Target:
    """Attacks aim at the victim's profile and the admin's own order: a forged admin token that
    got through would succeed on every route."""
    return Target(user=cast["victim"].sub, order=cast["admin_order"]["orderId"], order_owner=cast["admin"].sub)


def fresh_target(stack: Any, cast: Dict[str, Any], order_owner: Any) -> Target:
    """New records for requests that are expected to succeed (and may delete them)."""
    person = stack.new_user()
    put_profile(stack, person, "Fresh")
    order = create_order(stack, order_owner)
    return Target(user=person.sub, order=order["orderId"], order_owner=order_owner.sub, label="Baseline")


# -- token attacks -------------------------------------------------------------------------

_DUMMY = attacks.sign({"iss": "i", "aud": "a", "sub": "s", "token_use": "id"})
ATTACK_NAMES = sorted(attacks.forged_tokens(attacks.unverified_claims(_DUMMY), _DUMMY, _DUMMY, _DUMMY))


def test_valid_resigned_admin_token_is_accepted_on_every_route(stack: Any, cast: Dict[str, Any]) -> None:
    """Baseline: moto's key re-signs the admin's claims into a token every route accepts, so each
    forged token below fails only for the one thing it gets wrong."""
    token = attacks.sign(attacks.id_claims(cast["admin_claims"]))
    target = fresh_target(stack, cast, cast["admin"])
    for route in ROUTES:  # in order: DELETE before acknowledge would make acknowledge a 400
        if route.template.endswith("/acknowledge"):
            target = fresh_target(stack, cast, cast["admin"])
        answer = send(stack, route, target, token)
        assert 200 <= answer.status < 300, (route.name, answer.status, answer.body)


@pytest.mark.parametrize("attack", ATTACK_NAMES)
def test_forged_token_is_401_on_every_route(stack: Any, forged: Dict[str, str], shared_target: Target,
                                            attack: str) -> None:
    token = forged[attack]
    jobs = [(f"{attack} -> {route.name}", lambda route=route: send(stack, route, shared_target, token))
            for route in ROUTES]
    problems = fire(jobs, (401,))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant", ["no_header", "empty"])
def test_missing_token_is_401_on_every_route(stack: Any, shared_target: Target, variant: str) -> None:
    token = {"no_header": None, "empty": ""}[variant]
    jobs = [(f"{variant} -> {route.name}", lambda route=route: send(stack, route, shared_target, token))
            for route in ROUTES]
    problems = fire(jobs, (401,))
    assert not problems, "\n".join(problems)


def raw_send(stack: Any, route: Route, target: Target, headers: List[Tuple[bytes, bytes]]) -> http.Answer:
    url = target.url(stack, route)
    base = stack.users_url if route.api == "users" else stack.orders_url
    body = target.body(route)
    payload = json.dumps(body).encode() if body is not None else b""
    return http.raw_answer(base, route.method, url[len(base):], [(b"Content-Type", b"application/json"), *headers],
                           payload)


RAW_ATTACKS: Dict[str, Tuple[List[Tuple[bytes, bytes]], Tuple[int, ...]]] = {
    "authorization_100kb": ([(b"Authorization", b"Bearer " + b"A" * 100_000)], (401, 413, 431)),
    "authorization_60kb": ([(b"Authorization", b"Bearer " + b"A" * 60_000)], (401, 413, 431)),
    "authorization_20kb_jwt_shaped": ([(b"Authorization", b"Bearer " + b"eyJ" + b"A" * 10_000 + b"." + b"B" * 10_000
                                        + b".C")], (401, 413, 431)),
    "many_headers": ([(b"X-Pad-%d" % i, b"v") for i in range(150)] + [(b"Authorization", b"Bearer x.y.z")],
                     (401, 413, 431)),
    "utf8_emoji": ([(b"Authorization", "Bearer \U0001F4A5\U0001F525.\u202e\u0645\u0631.\u00e9".encode())], (401,)),
    "invalid_utf8": ([(b"Authorization", b"Bearer \xff\xfe\xfd.\xc3\x28.\x80\x81")], (401,)),
    "latin1_jwt_shaped": ([(b"Authorization", b"eyJ\xe9\xe8.eyJ\xe0.\xff")], (401,)),
    "control_chars": ([(b"Authorization", b"Bearer \x01\x02\x7f.\x1b[31m.\x08")], (401,)),
    "nul_bytes": ([(b"Authorization", b"Bearer a\x00b.c\x00d.e")], (401,)),
    "only_spaces": ([(b"Authorization", b"    ")], (401,)),
    "bearer_lowercase_garbage": ([(b"Authorization", b"bearer \xe2\x80\x8b")], (401,)),
}


@pytest.mark.parametrize("attack", sorted(RAW_ATTACKS))
def test_oversized_and_non_ascii_headers_are_refused_as_json(stack: Any, shared_target: Target, attack: str) -> None:
    headers, allowed = RAW_ATTACKS[attack]
    jobs = [(f"{attack} -> {route.name}", lambda route=route: raw_send(stack, route, shared_target, headers))
            for route in ROUTES]
    problems = fire(jobs, allowed)
    assert not problems, "\n".join(problems)


# -- path confusion: a regular user aiming at another user's record -------------------------

CONFUSING_PATHS = ["/users/{other}", "/users/{me}/../{other}", "/users/{me}%2F..%2F{other}",
                   "/users/{other}%2F..%2F{me}", "/users//{other}", "/users/{other}/", "//users/{other}",
                   "/users/./{other}", "/users/{other}?userid={me}", "/users/{me}%00{other}", "/users/{other}%20",
                   "/users/{other}#{me}", "/users/%2e%2e", "/users/*", "/users/{me}*", "/users/%2A",
                   "/users/{OTHER}", "/users/{other}%0d%0aX-Injected:%201", "/users/\xff{other}"]


@pytest.mark.parametrize("path", CONFUSING_PATHS)
def test_path_confusion_never_reaches_another_users_record(stack: Any, cast: Dict[str, Any], path: str) -> None:
    me, other = cast["victim"], cast["bystander"]
    raw = path.replace("{me}", me.sub).replace("{other}", other.sub).replace("{OTHER}", other.sub.upper())
    target = raw.encode("latin-1")  # "\xff" goes out as one raw byte
    jobs = []
    for method in ("GET", "PUT", "DELETE"):
        def attempt(method: str = method) -> http.Answer:
            headers = [(b"Authorization", me.id_token.encode()), (b"Content-Type", b"application/json")]
            body = b'{"name": "Attacker Changed"}' if method == "PUT" else b""
            return http.raw_answer(stack.users_url, method, target, headers, body, timeout=10.0)
        jobs.append((f"{method} {path}", attempt))
    problems = fire(jobs, (400, 401, 403, 404, 405))
    assert not problems, "\n".join(problems)


# -- admin-group look-alikes (valid tokens) -------------------------------------------------

ADMIN_ROUTES = [Route("users", "GET", "/users"), Route("users", "POST", "/users"),
                Route("users", "GET", "/users/{user}"), Route("users", "PUT", "/users/{user}"),
                Route("users", "DELETE", "/users/{user}"),
                Route("orders", "POST", "/orders/{order}/acknowledge")]
"""Routes only an admin may call on these targets ({user} is someone else's record, {order} the
admin's order: the victim acknowledging it needs admin rights)."""

LOOKALIKES = sorted(attacks.group_lookalikes("apiAdmins"))


def lookalike_claims(base: Dict[str, Any], admin_group: str, variant: str) -> Dict[str, Any]:
    value = attacks.group_lookalikes(admin_group)[variant]
    if variant == "wrong_claim_name":
        return attacks.id_claims(base, **{"cognito:groups": None, "groups": [admin_group],
                                          "cognito:groups ": [admin_group], "custom:groups": admin_group,
                                          "isAdmin": "true"})
    return attacks.id_claims(base, **{"cognito:groups": value})


@pytest.mark.parametrize("groups", [["ADMIN_GROUP"], ["users", "ADMIN_GROUP"], "ADMIN_GROUP",
                                    "users,ADMIN_GROUP"], ids=["list", "list_not_first", "string", "comma_string"])
def test_exact_admin_group_anywhere_is_admin(stack: Any, cast: Dict[str, Any], groups: Any) -> None:
    """Baseline for the look-alikes: the same victim claims with the exact group name get through."""
    group = stack.admin_group
    value = [g.replace("ADMIN_GROUP", group) for g in groups] if isinstance(groups, list) \
        else groups.replace("ADMIN_GROUP", group)
    token = attacks.sign(attacks.id_claims(cast["victim_claims"], **{"cognito:groups": value}))
    target = fresh_target(stack, cast, cast["admin"])
    for route in ADMIN_ROUTES:
        if route.template.endswith("/acknowledge"):
            target = fresh_target(stack, cast, cast["admin"])
        answer = send(stack, route, target, token)
        assert 200 <= answer.status < 300, (route.name, answer.status, answer.body)


@pytest.mark.parametrize("variant", LOOKALIKES)
def test_admin_group_lookalike_is_403(stack: Any, cast: Dict[str, Any], variant: str) -> None:
    token = attacks.sign(lookalike_claims(cast["victim_claims"], stack.admin_group, variant))
    others = Target(user=cast["bystander"].sub, order=cast["admin_order"]["orderId"], order_owner=cast["admin"].sub)
    # The token is valid: the victim's own profile is reachable with it ...
    own = http.answer(stack.users_url, "GET", f"/users/{cast['victim'].sub}", who=token)
    assert own.status == 200, own.body
    # ... but nothing that needs the admin group is.
    jobs = [(f"groups={variant} -> {route.name}", lambda route=route: send(stack, route, others, token))
            for route in ADMIN_ROUTES]
    problems = fire(jobs, (403,))
    assert not problems, "\n".join(problems)


def test_attacks_changed_nothing(stack: Any, cast: Dict[str, Any], shared_target: Target) -> None:
    """Runs after the attacks (file order): the targets are exactly as they were."""
    victim, admin = cast["victim"], cast["admin"]
    profile = call(stack.users_url, "GET", f"/users/{victim.sub}", who=victim)
    assert profile.status_code == 200 and profile.json()["name"] == "Victim"
    bystander = cast["bystander"]
    profile = call(stack.users_url, "GET", f"/users/{bystander.sub}", who=bystander)
    assert profile.status_code == 200 and profile.json()["name"] == "Bystander"
    order = call(stack.orders_url, "GET", f"/orders/{shared_target.order}", who=admin)
    assert order.status_code == 200 and order.json() == cast["admin_order"]
    users = stack.ddb.scan(TableName=stack.table("UsersTable"), ConsistentRead=True)["Items"]
    assert not [u for u in users if u.get("name", {}).get("S", "").startswith("Attacker")]
    assert not TALLY.failures, "\n".join(TALLY.failures)


# -- ownership matrix ----------------------------------------------------------------------

OWNERSHIP = {
    # route name -> expected status for owner, other, admin, anonymous
    "users:GET /users": {"owner": 403, "other": 403, "admin": 200, "anonymous": 401},
    "users:POST /users": {"owner": 403, "other": 403, "admin": 200, "anonymous": 401},
    "users:GET /users/{user}": {"owner": 200, "other": 403, "admin": 200, "anonymous": 401},
    "users:PUT /users/{user}": {"owner": 200, "other": 403, "admin": 200, "anonymous": 401},
    "users:DELETE /users/{user}": {"owner": 200, "other": 403, "admin": 200, "anonymous": 401},
    "orders:POST /orders": {"owner": 200, "other": 200, "admin": 200, "anonymous": 401},
    "orders:GET /orders": {"owner": 200, "other": 200, "admin": 200, "anonymous": 401},
    "orders:GET /orders/{order}": {"owner": 200, "other": 404, "admin": 404, "anonymous": 401},
    "orders:PUT /orders/{order}": {"owner": 200, "other": 404, "admin": 404, "anonymous": 401},
    "orders:DELETE /orders/{order}": {"owner": 200, "other": 404, "admin": 404, "anonymous": 401},
    "orders:POST /orders/{order}/acknowledge": {"owner": 403, "other": 403, "admin": 200, "anonymous": 401},
}
ROUTES_BY_NAME = {route.name: route for route in ROUTES}


@pytest.fixture(scope="module")
def people(stack: Any) -> Dict[str, Any]:
    return {"other": stack.new_user(), "admin": stack.new_user(admin=True)}


@pytest.mark.parametrize("who", ["owner", "other", "admin", "anonymous"])
@pytest.mark.parametrize("route_name", list(OWNERSHIP))
def test_ownership_matrix(stack: Any, people: Dict[str, Any], route_name: str, who: str) -> None:
    route, expected = ROUTES_BY_NAME[route_name], OWNERSHIP[route_name][who]
    owner = stack.new_user()
    profile = put_profile(stack, owner, "Owner")
    order = create_order(stack, owner)
    target = Target(user=owner.sub, order=order["orderId"], order_owner=owner.sub, label="Matrix")
    caller = owner if who == "owner" else people.get(who)
    answer = send(stack, route, target, caller.id_token if caller else None)
    if expected != 200:
        assert answer.status == expected, answer.body
        assert attacks.error_shape_problem(answer.status, answer.content_type, answer.body) is None
        # a refused request changed nothing
        assert call(stack.users_url, "GET", f"/users/{owner.sub}", who=owner).json() == profile
        assert call(stack.orders_url, "GET", f"/orders/{order['orderId']}", who=owner).json() == order
        return
    assert answer.status == 200, answer.body
    body = json.loads(answer.body)
    if route_name == "orders:GET /orders":
        ids = {o["orderId"] for o in body["orders"]}
        assert all(o["userId"] == caller.sub for o in body["orders"])
        assert (order["orderId"] in ids) == (who == "owner")
    elif route_name == "orders:POST /orders":
        assert body["userId"] == caller.sub
    elif route.api == "orders":
        assert body["userId"] == owner.sub and body["orderId"] == order["orderId"]
    elif route.template == "/users/{user}":
        assert body == {} if route.method == "DELETE" else body["userid"] == owner.sub


# -- paginated lists -----------------------------------------------------------------------

def test_next_token_replayed_by_another_user_is_400_never_data(stack: Any, people: Dict[str, Any]) -> None:
    owner = stack.new_user()
    for _ in range(3):
        create_order(stack, owner)
    page = call(stack.orders_url, "GET", "/orders?limit=1", who=owner)
    assert page.status_code == 200 and len(page.json()["orders"]) == 1
    token = page.json()["nextToken"]
    own_next = call(stack.orders_url, "GET", "/orders", who=owner, params={"limit": 1, "nextToken": token})
    assert own_next.status_code == 200 and len(own_next.json()["orders"]) == 1  # the token works for its owner
    for who in ("other", "admin"):
        create_order(stack, people[who])  # the thief has data of its own, so an empty page would be a leak too
        r = call(stack.orders_url, "GET", "/orders", who=people[who], params={"limit": 1, "nextToken": token})
        assert r.status_code == 400, (who, r.text)
        assert r.json()["Code"] == "InvalidNextToken"
        assert "orders" not in r.json()


def test_forged_next_token_naming_another_user_is_400(stack: Any, people: Dict[str, Any]) -> None:
    victim, thief = stack.new_user(), people["other"]
    order = create_order(stack, victim)
    for key in ({"userId": victim.sub, "orderId": "0"}, {"userId": victim.sub, "orderId": order["orderId"]},
                {"userId": thief.sub, "orderId": "0", "extra": "x"}, {"orderId": "0"}):
        token = attacks.b64json(key)
        r = call(stack.orders_url, "GET", "/orders", who=thief, params={"nextToken": token})
        assert r.status_code == 400, (key, r.text)
        assert victim.sub not in r.text


def test_users_list_token_is_useless_to_a_regular_user(stack: Any, people: Dict[str, Any]) -> None:
    admin = people["admin"]
    for _ in range(2):
        call(stack.users_url, "POST", "/users", {"name": "Pager"}, who=admin)
    page = call(stack.users_url, "GET", "/users?limit=1", who=admin)
    assert page.status_code == 200 and len(page.json()) == 1
    token = page.headers.get("X-Next-Token")
    assert token and 'rel="next"' in page.headers.get("Link", "")
    r = call(stack.users_url, "GET", "/users", who=people["other"], params={"limit": 1, "nextToken": token})
    assert r.status_code == 403 and r.json()["Code"] in ("Forbidden", "AccessDenied")


# -- idempotency keys across users ----------------------------------------------------------

def test_same_order_id_and_body_from_another_user_creates_their_own_order(stack: Any) -> None:
    alice, bob = stack.new_user(), stack.new_user()
    body = order_body()
    first = call(stack.orders_url, "POST", "/orders", body, who=alice)
    assert first.status_code == 200
    second = call(stack.orders_url, "POST", "/orders", body, who=bob)
    assert second.status_code == 200, second.text
    assert second.json()["userId"] == bob.sub and first.json()["userId"] == alice.sub
    # Bob's replay returns Bob's order; Alice still has exactly hers.
    replay = call(stack.orders_url, "POST", "/orders", body, who=bob)
    assert replay.content == second.content
    for user, expected in ((alice, first.json()), (bob, second.json())):
        items = stack.ddb.query(TableName=stack.table("OrdersTable"), KeyConditionExpression="userId = :u",
                                ExpressionAttributeValues={":u": {"S": user.sub}}, ConsistentRead=True)["Items"]
        assert [i["orderId"]["S"] for i in items] == [body["orderId"]]
        got = call(stack.orders_url, "GET", f"/orders/{body['orderId']}", who=user)
        assert got.json() == expected
    # A different body under Bob's key conflicts with Bob's order, not Alice's.
    changed = {**body, "totalAmount": 1}
    conflict = call(stack.orders_url, "POST", "/orders", changed, who=bob)
    assert conflict.status_code == 409 and alice.sub not in conflict.text
