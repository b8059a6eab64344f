"""The users API over HTTP against the local stack (DynamoDB Local, moto Cognito, strict gateway),
with real tokens from the Cognito emulator; plus the repository contract on DynamoDB Local."""
import json
import uuid
from decimal import Decimal
from typing import Any, Dict, Optional
from urllib.parse import urljoin

import pytest
import requests

from tests.support.apps import app_module, load_app
from tests.unit.users.repository_contract import RepositoryContract

pytestmark = pytest.mark.integration

TIMEOUT = 10


@pytest.fixture(scope="module")
def people(stack: Any) -> Dict[str, Any]:
    return {"admin": stack.new_user(admin=True), "owner": stack.new_user(), "other": stack.new_user()}


@pytest.fixture(scope="module")
def users(stack: Any) -> str:
    return stack.users_url.rstrip("/") + "/users"


def send(method: str, url: str, who: Optional[Any] = None, body: Any = None, raw: Optional[bytes] = None,
         headers: Optional[Dict[str, str]] = None) -> requests.Response:
    all_headers = {"Content-Type": "application/json"}
    if who is not None:
        all_headers["Authorization"] = who.id_token
    all_headers.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return requests.request(method, url, headers=all_headers, data=data, timeout=TIMEOUT)


def assert_error(response: requests.Response, status: int, code: Optional[str] = None) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert "Code" in body and "Message" in body and set(body) <= {"Code", "Message", "Fields"}
    if code:
        assert body["Code"] == code


# --- the workshop's six users scenarios --------------------------------------------------------

def test_workshop_no_token_is_401(users: str) -> None:
    assert_error(send("GET", users), 401)


def test_workshop_regular_user_list_is_403(users: str, people: Any) -> None:
    assert_error(send("GET", users, people["owner"]), 403)


def test_workshop_regular_user_create_is_403(users: str, people: Any) -> None:
    assert_error(send("POST", users, people["owner"], {"name": "Nope"}), 403)


def test_workshop_admin_create_echoes_stored_user(users: str, people: Any, stack: Any) -> None:
    r = send("POST", users, people["admin"], {"name": "Workshop User"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Workshop User" and uuid.UUID(body["userid"]).version == 4
    assert body["timestamp"] == body["updatedAt"] == body["createdAt"] and body["createdAt"].endswith("+00:00")
    item = stack.ddb.get_item(TableName=stack.table("UsersTable"), Key={"userid": {"S": body["userid"]}})["Item"]
    assert {k: v["S"] for k, v in item.items()} == body  # stored exactly what was echoed, all strings


def test_workshop_body_not_json_is_400(users: str, people: Any) -> None:
    assert_error(send("POST", users, people["admin"], raw=b"this is not json"), 400)


def test_workshop_regular_user_reading_another_is_403(users: str, people: Any) -> None:
    send("PUT", f"{users}/{people['other'].sub}", people["other"], {"name": "Other"})
    assert_error(send("GET", f"{users}/{people['other'].sub}", people["owner"]), 403)


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
def test_route_matrix(users: str, people: Any, stack: Any, route: Any, who: str) -> None:
    method, suffix = route
    owner = people["owner"]
    assert send("PUT", f"{users}/{owner.sub}", owner, {"name": "Owner"}).status_code == 200  # target exists
    url = users + suffix.replace("{owner}", owner.sub)
    body = {"name": "Changed"} if method in ("POST", "PUT") else None
    r = send(method, url, people.get(who), body)
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
        assert_error(send("GET", url, owner), 404, "NotFound")
    else:
        assert r.json()["name"] == "Changed"


# --- behaviour over HTTP --------------------------------------------------------------------------------

def test_self_registration_and_update_keep_created_at(users: str, stack: Any) -> None:
    me = stack.new_user()
    url = f"{users}/{me.sub}"
    assert_error(send("GET", url, me), 404, "NotFound")
    first = send("PUT", url, me, {"name": "Me", "email": "me@example.com"}).json()
    second = send("PUT", url, me, {"name": "Me Too"}).json()
    assert second["createdAt"] == first["createdAt"] and second["updatedAt"] >= first["updatedAt"]
    assert "email" not in second and send("GET", url, me).json() == second


def test_duplicate_create_is_409_and_keeps_the_original(users: str, people: Any) -> None:
    userid = f"dup-{uuid.uuid4().hex}"
    assert send("POST", users, people["admin"], {"name": "First", "userid": userid}).status_code == 200
    assert_error(send("POST", users, people["admin"], {"name": "Second", "userid": userid}), 409, "UserExists")
    assert send("GET", f"{users}/{userid}", people["admin"]).json()["name"] == "First"


@pytest.mark.parametrize("raw,status", [(b'{"name": NaN}', 400), (b'{"name": "a", "x": 1e999}', 400),
                                        (b'[]', 400), (b'{"name": "a", "isAdmin": true}', 400),
                                        (b'{"name": 5}', 400)])
def test_bad_bodies(users: str, people: Any, raw: bytes, status: int) -> None:
    assert_error(send("POST", users, people["admin"], raw=raw), status)


def test_wrong_content_type_is_415(users: str, people: Any) -> None:
    assert_error(send("POST", users, people["admin"], raw=b'{"name": "a"}', headers={"Content-Type": "text/plain"}),
                 415)


def test_pagination_follows_link_headers(users: str, people: Any) -> None:
    admin = people["admin"]
    mine = {send("POST", users, admin, {"name": "Paged"}).json()["userid"] for _ in range(3)}
    seen = []
    url: Optional[str] = f"{users}?limit=2"
    for _ in range(500):
        r = send("GET", url, admin)
        assert r.status_code == 200 and isinstance(r.json(), list) and len(r.json()) <= 2
        seen += [u["userid"] for u in r.json()]
        link = r.headers.get("Link")
        if not link:
            break
        assert link.endswith('>; rel="next"') and r.headers["X-Next-Token"] in link
        url = urljoin(users, link[1:link.index(">")])
    assert mine <= set(seen) and len(seen) == len(set(seen))


def test_bad_limit_and_tampered_token_are_400(users: str, people: Any) -> None:
    assert_error(send("GET", f"{users}?limit=101", people["admin"]), 400, "InvalidParameter")
    assert_error(send("GET", f"{users}?nextToken=eyJ1c2VyaWQiOjF9", people["admin"]), 400, "InvalidNextToken")


def test_stored_workshop_numbers_do_not_break_reads(users: str, people: Any, stack: Any) -> None:
    userid = f"legacy-{uuid.uuid4().hex}"
    stack.created_profiles.add(userid)  # written directly below: removed at the end on a shared stage
    stack.ddb.put_item(TableName=stack.table("UsersTable"),
                       Item={"userid": {"S": userid}, "name": {"S": "Old"}, "timestamp": {"N": "1700000000.25"},
                             "score": {"N": "19.97"}})
    r = send("GET", f"{users}/{userid}", people["admin"])
    assert r.status_code == 200, r.text
    assert r.json(parse_float=Decimal) == {"userid": userid, "name": "Old", "timestamp": Decimal("1700000000.25"),
                                           "score": Decimal("19.97")}


@pytest.mark.parametrize("token", ["garbage", "Bearer a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_bad_tokens_are_401(users: str, token: str) -> None:
    assert_error(send("GET", users, headers={"Authorization": token}), 401)


def test_bearer_prefix_works(users: str, people: Any) -> None:
    r = send("GET", users, headers={"Authorization": "Bearer " + people["admin"].id_token})
    assert r.status_code == 200


def test_logs_hold_no_tokens_or_personal_data(users: str, stack: Any, local_stack_only: None) -> None:
    me = stack.new_user()
    name, email = f"Private Name {uuid.uuid4().hex}", f"private-{uuid.uuid4().hex}@example.com"
    assert send("PUT", f"{users}/{me.sub}", me, {"name": name, "email": email}).status_code == 200
    send("GET", users, headers={"Authorization": me.id_token + "x"})  # a denial gets logged
    output = stack.server_output("users_app")
    assert "authorizer denied" in output  # the denial was logged (so the logs were really captured)
    assert name not in output and email not in output
    assert me.id_token not in output and me.id_token.split(".")[1] not in output


# --- the repository contract on DynamoDB Local -------------------------------------------------------

class TestDynamoRepository(RepositoryContract):
    @pytest.fixture
    def repository_module(self) -> Any:
        load_app("users_app")
        return app_module("users_app", "chalicelib.users.repository")

    @pytest.fixture
    def contract_repo(self, stack: Any, local_stack_only: None, repository_module: Any) -> Any:
        from deploy.local.tables import table_specs
        spec = next(s for s in table_specs() if s.logical_id == "UsersTable")
        kwargs = spec.create_kwargs()
        kwargs["TableName"] = f"users-contract-{uuid.uuid4().hex[:12]}"
        stack.ddb.create_table(**kwargs)
        try:
            yield repository_module.DynamoUsersRepository(stack.ddb, kwargs["TableName"])
        finally:
            stack.ddb.delete_table(TableName=kwargs["TableName"])
