"""The users API over HTTP against the local stack (DynamoDB Local, moto Cognito, strict gateway),
with real tokens from the Cognito emulator. (The repository contract on DynamoDB Local is in
tests/contract/test_users_repository.py.)"""
import uuid
from decimal import Decimal
from typing import Any, Dict, Optional
from urllib.parse import urljoin

import pytest

from tests.support.http import assert_error, call

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def people(stack: Any) -> Dict[str, Any]:
    return {"admin": stack.new_user(admin=True), "owner": stack.new_user(), "other": stack.new_user()}


@pytest.fixture(scope="module")
def api(stack: Any) -> str:
    """The users API's base URL."""
    return stack.users_url.rstrip("/")


# --- the workshop's six users scenarios --------------------------------------------------------

def test_workshop_no_token_is_401(api: str) -> None:
    assert_error(call(api, "GET", "/users"), 401)


def test_workshop_regular_user_list_is_403(api: str, people: Any) -> None:
    assert_error(call(api, "GET", "/users", who=people["owner"]), 403)


def test_workshop_regular_user_create_is_403(api: str, people: Any) -> None:
    assert_error(call(api, "POST", "/users", {"name": "Nope"}, who=people["owner"]), 403)


def test_workshop_admin_create_echoes_stored_user(api: str, people: Any, stack: Any) -> None:
    r = call(api, "POST", "/users", {"name": "Workshop User"}, who=people["admin"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Workshop User" and uuid.UUID(body["userid"]).version == 4
    assert body["timestamp"] == body["updatedAt"] == body["createdAt"] and body["createdAt"].endswith("+00:00")
    item = stack.ddb.get_item(TableName=stack.table("UsersTable"), Key={"userid": {"S": body["userid"]}})["Item"]
    assert {k: v["S"] for k, v in item.items()} == body  # stored exactly what was echoed, all strings


def test_workshop_body_not_json_is_400(api: str, people: Any) -> None:
    assert_error(call(api, "POST", "/users", who=people["admin"], raw=b"this is not json"), 400)


def test_workshop_regular_user_reading_another_is_403(api: str, people: Any) -> None:
    call(api, "PUT", f"/users/{people['other'].sub}", {"name": "Other"}, who=people["other"])
    assert_error(call(api, "GET", f"/users/{people['other'].sub}", who=people["owner"]), 403)


# --- every route x {admin, owner, other user, no token} --------------------------------------------

EXPECTED = {
    ("GET", ""): {"admin": 200, "owner": 403, "other": 403, "anonymous": 401},
    ("POST", ""): {"admin": 200, "owner": 403, "other": 403, "anonymous": 401},
    ("GET", "/{owner}"): {"admin": 200, "owner": 200, "other": 403, "anonymous": 401},
    ("PUT", "/{owner}"): {"admin": 200, "owner": 200, "other": 403, "anonymous": 401},
    ("DELETE", "/{owner}"): {"admin": 200, "owner": 200, "other": 403, "anonymous": 401},
}


@pytest.mark.parametrize("route", list(EXPECTED), ids=lambda r: f"{r[0]} /users{r[1]}")
@pytest.mark.parametrize("who", ["admin", "owner", "other", "anonymous"])
def test_route_matrix(api: str, people: Any, stack: Any, route: Any, who: str) -> None:
    method, suffix = route
    owner = people["owner"]
    assert call(api, "PUT", f"/users/{owner.sub}", {"name": "Owner"}, who=owner).status_code == 200  # target exists
    path = "/users" + suffix.replace("{owner}", owner.sub)
    body = {"name": "Changed"} if method in ("POST", "PUT") else None
    r = call(api, method, path, body, who=people.get(who))
    expected = EXPECTED[route][who]
    if expected != 200:
        assert_error(r, expected)
        stored = stack.ddb.get_item(TableName=stack.table("UsersTable"), Key={"userid": {"S": owner.sub}})["Item"]
        assert stored["name"]["S"] == "Owner"  # a refused request changed nothing
        return
    assert r.status_code == 200, r.text
    if method == "GET" and suffix:
        assert r.json()["userid"] == owner.sub
    elif method == "GET":
        assert isinstance(r.json(), list)
    elif method == "DELETE":
        assert r.json() == {}
        assert_error(call(api, "GET", path, who=owner), 404, "NotFound")
    else:
        assert r.json()["name"] == "Changed"


# --- behaviour over HTTP --------------------------------------------------------------------------------

def test_self_registration_and_update_keep_created_at(api: str, stack: Any) -> None:
    me = stack.new_user()
    path = f"/users/{me.sub}"
    assert_error(call(api, "GET", path, who=me), 404, "NotFound")
    first = call(api, "PUT", path, {"name": "Me", "email": "me@example.com"}, who=me).json()
    second = call(api, "PUT", path, {"name": "Me Too"}, who=me).json()
    assert second["createdAt"] == first["createdAt"] and second["updatedAt"] >= first["updatedAt"]
    assert "email" not in second and call(api, "GET", path, who=me).json() == second


def test_duplicate_create_is_409_and_keeps_the_original(api: str, people: Any) -> None:
    userid = f"dup-{uuid.uuid4().hex}"
    assert call(api, "POST", "/users", {"name": "First", "userid": userid}, who=people["admin"]).status_code == 200
    assert_error(call(api, "POST", "/users", {"name": "Second", "userid": userid}, who=people["admin"]), 409,
                 "UserExists")
    assert call(api, "GET", f"/users/{userid}", who=people["admin"]).json()["name"] == "First"


@pytest.mark.parametrize("raw,status", [(b'{"name": NaN}', 400), (b'{"name": "a", "x": 1e999}', 400),
                                        (b'[]', 400), (b'{"name": "a", "isAdmin": true}', 400),
                                        (b'{"name": 5}', 400)])
def test_bad_bodies(api: str, people: Any, raw: bytes, status: int) -> None:
    assert_error(call(api, "POST", "/users", who=people["admin"], raw=raw), status)


def test_wrong_content_type_is_415(api: str, people: Any) -> None:
    assert_error(call(api, "POST", "/users", who=people["admin"], raw=b'{"name": "a"}',
                      headers={"Content-Type": "text/plain"}), 415)


def test_pagination_follows_link_headers(api: str, people: Any) -> None:
    admin = people["admin"]
    mine = {call(api, "POST", "/users", {"name": "Paged"}, who=admin).json()["userid"] for _ in range(3)}
    seen = []
    url: Optional[str] = f"{api}/users?limit=2"
    for _ in range(500):
        r = call(url, "GET", who=admin)
        assert r.status_code == 200 and isinstance(r.json(), list) and len(r.json()) <= 2
        seen += [u["userid"] for u in r.json()]
        link = r.headers.get("Link")
        if not link:
            break
        assert link.endswith('>; rel="next"') and r.headers["X-Next-Token"] in link
        url = urljoin(f"{api}/users", link[1:link.index(">")])
    assert mine <= set(seen) and len(seen) == len(set(seen))


def test_bad_limit_and_tampered_token_are_400(api: str, people: Any) -> None:
    assert_error(call(api, "GET", "/users?limit=101", who=people["admin"]), 400, "InvalidParameter")
    assert_error(call(api, "GET", "/users?nextToken=eyJ1c2VyaWQiOjF9", who=people["admin"]), 400, "InvalidNextToken")


def test_stored_workshop_numbers_do_not_break_reads(api: str, people: Any, stack: Any) -> None:
    userid = f"legacy-{uuid.uuid4().hex}"
    stack.created_profiles.add(userid)  # written directly below: removed at the end on a shared stage
    stack.ddb.put_item(TableName=stack.table("UsersTable"),
                       Item={"userid": {"S": userid}, "name": {"S": "Old"}, "timestamp": {"N": "1700000000.25"},
                             "score": {"N": "19.97"}})
    r = call(api, "GET", f"/users/{userid}", who=people["admin"])
    assert r.status_code == 200, r.text
    assert r.json(parse_float=Decimal) == {"userid": userid, "name": "Old", "timestamp": Decimal("1700000000.25"),
                                           "score": Decimal("19.97")}


@pytest.mark.parametrize("token", ["garbage", "Bearer a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_bad_tokens_are_401(api: str, token: str) -> None:
    assert_error(call(api, "GET", "/users", headers={"Authorization": token}), 401)


def test_bearer_prefix_works(api: str, people: Any) -> None:
    r = call(api, "GET", "/users", headers={"Authorization": "Bearer " + people["admin"].id_token})
    assert r.status_code == 200


def test_logs_hold_no_tokens_or_personal_data(api: str, stack: Any, local_stack_only: None) -> None:
    me = stack.new_user()
    name, email = f"Private Name {uuid.uuid4().hex}", f"private-{uuid.uuid4().hex}@example.com"
    assert call(api, "PUT", f"/users/{me.sub}", {"name": name, "email": email}, who=me).status_code == 200
    call(api, "GET", "/users", headers={"Authorization": me.id_token + "x"})  # a denial gets logged
    output = stack.server_output("users_app")
    assert "authorizer denied" in output  # the denial was logged (so the logs were really captured)
    assert name not in output and email not in output
    assert me.id_token not in output and me.id_token.split(".")[1] not in output
