"""Every users route through the strict test client (authorizer enforced as API Gateway does),
with an in-memory repository and a fake clock."""
import json
from typing import Any, Optional

import pytest

from tests.support import tokens
from tests.support.http import assert_error, call

ADMIN = "admin-sub-1"
OWNER = "owner-sub-1"
OTHER = "other-sub-1"


def token_of(sub: Optional[str]) -> Optional[str]:
    """An ID token for `sub`, in the admin group when it is ADMIN (None for no caller)."""
    if sub is None:
        return None
    return tokens.id_token(sub, [tokens.ADMIN_GROUP] if sub == ADMIN else [])


def seed(repo: Any, userid: str, name: str = "Seeded") -> None:
    repo.items[userid] = {"userid": userid, "name": name, "createdAt": "2025-01-01T00:00:00.000000+00:00",
                          "updatedAt": "2025-01-01T00:00:00.000000+00:00",
                          "timestamp": "2025-01-01T00:00:00.000000+00:00"}


# --- the workshop's six scenarios ------------------------------------------------------------

def test_no_token_is_401(client: Any) -> None:
    assert_error(call(client, "GET", "/users"), 401, "Unauthorized")


def test_regular_user_cannot_list_or_create(client: Any) -> None:
    assert_error(call(client, "GET", "/users", who=token_of(OWNER)), 403)
    assert_error(call(client, "POST", "/users", {"name": "x"}, who=token_of(OWNER)), 403)


def test_admin_create_echoes_stored_user(client: Any, repo: Any, clock: Any) -> None:
    r = call(client, "POST", "/users", {"name": "Ada"}, who=token_of(ADMIN))
    assert r.status_code == 200, r.body
    stamp = "2026-01-02T03:04:05.678901+00:00"
    assert r.data == {"userid": r.data["userid"], "name": "Ada", "createdAt": stamp, "updatedAt": stamp,
                      "timestamp": stamp}
    assert repo.items[r.data["userid"]] == r.data
    assert len(r.data["userid"]) == 36  # uuid4


def test_body_not_json_is_400(client: Any) -> None:
    assert_error(call(client, "POST", "/users", who=token_of(ADMIN), raw=b"not json"), 400, "InvalidJson")


def test_regular_user_cannot_read_another_user(client: Any, repo: Any) -> None:
    seed(repo, OTHER)
    assert_error(call(client, "GET", f"/users/{OTHER}", who=token_of(OWNER)), 403)


# --- ownership matrix ---------------------------------------------------------------------------

ROUTES = [("GET", "/users"), ("POST", "/users"), ("GET", "/users/{id}"), ("PUT", "/users/{id}"),
          ("DELETE", "/users/{id}")]
# expected status per (route, who); the target record {id} belongs to OWNER and exists.
EXPECTED = {
    ("GET", "/users"): {"admin": 200, "owner": 403, "other": 403, "anonymous": 401},
    ("POST", "/users"): {"admin": 200, "owner": 403, "other": 403, "anonymous": 401},
    ("GET", "/users/{id}"): {"admin": 200, "owner": 200, "other": 403, "anonymous": 401},
    ("PUT", "/users/{id}"): {"admin": 200, "owner": 200, "other": 403, "anonymous": 401},
    ("DELETE", "/users/{id}"): {"admin": 200, "owner": 200, "other": 403, "anonymous": 401},
}
WHO = {"admin": ADMIN, "owner": OWNER, "other": OTHER, "anonymous": None}


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("who", list(WHO))
def test_ownership_matrix(client: Any, repo: Any, method: str, path: str, who: str) -> None:
    seed(repo, OWNER, "Owner")
    before = dict(repo.items)
    body = {"name": "Changed"} if method in ("POST", "PUT") else None
    r = call(client, method, path.replace("{id}", OWNER), body, who=token_of(WHO[who]))
    expected = EXPECTED[(method, path)][who]
    assert r.status_code == expected, (r.status_code, r.body)
    if expected != 200:
        assert_error(r, expected)
        assert repo.items == before  # nothing written by a refused request


class CountingVerifier:
    """The test verifier, counting the tokens it verified (one per authorizer invocation)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def verify(self, token: Optional[str]) -> Any:
        self.calls += 1
        return self.inner.verify(token)


@pytest.mark.parametrize("first", ROUTES, ids=lambda route: f"first {route[0]} {route[1]}")
@pytest.mark.parametrize("who", ["admin", "owner", "other"])
def test_the_cached_policy_answers_every_route_whatever_came_first(client: Any, mod: Any, repo: Any, clock: Any,
                                                                    test_verifier: Any, first: Any, who: str) -> None:
    """The strict gateway caches a token's policy as API Gateway does (DESIGN.md §5c) and judges the
    token's later requests against it: whichever route a caller asks for first, every route still
    answers as the matrix says, and the authorizer ran once."""
    counting = CountingVerifier(test_verifier)
    mod.app.root.install(mod.app.compose(repo=repo, clock=clock, verifier=counting))
    token = token_of(WHO[who])
    for method, path in [first, *ROUTES]:
        seed(repo, OWNER, "Owner")
        body = {"name": "Changed"} if method in ("POST", "PUT") else None
        r = call(client, method, path.replace("{id}", OWNER), body, who=token)
        assert r.status_code == EXPECTED[(method, path)][who], (first, method, path, r.body)
    assert counting.calls == 1


def test_view_rechecks_ownership_even_if_the_gateway_let_it_through(mod: Any, repo: Any) -> None:
    """Defense in depth: the service refuses another user's record whatever the policy said."""
    svc = mod.service.UsersService(repo)
    caller = mod.caller.Caller.from_custom_authorizer({"authorizer": {"principalId": OTHER, "isAdmin": "false"}})
    seed(repo, OWNER)
    with pytest.raises(mod.errors.Forbidden):
        svc.get(caller, OWNER)
    with pytest.raises(mod.errors.Unauthorized):
        mod.caller.Caller.from_custom_authorizer({})


# --- create -----------------------------------------------------------------------------------------

def test_create_with_userid_and_email_then_duplicate_is_409(client: Any, repo: Any) -> None:
    body = {"name": "Grace", "email": "grace@example.com", "userid": "abc_123-X"}
    r = call(client, "POST", "/users", body, who=token_of(ADMIN))
    assert r.status_code == 200 and r.data["userid"] == "abc_123-X" and r.data["email"] == "grace@example.com"
    stored = dict(repo.items["abc_123-X"])
    r2 = call(client, "POST", "/users", {"name": "Impostor", "userid": "abc_123-X"}, who=token_of(ADMIN))
    assert_error(r2, 409, "UserExists")
    assert repo.items["abc_123-X"] == stored  # never overwritten


@pytest.mark.parametrize("raw,status,code", [
    (b'{"name": NaN}', 400, "InvalidJson"),
    (b'{"name": "a", "n": Infinity}', 400, "InvalidJson"),
    (b'{"name": "a", "n": 1e999}', 400, "InvalidJson"),
    (b'[{"name": "a"}]', 400, "InvalidJson"),
    (b'"name"', 400, "InvalidJson"),
    (b'null', 400, "InvalidJson"),
    (b'', 400, "InvalidJson"),
    (b'{"name": "a", "name": "b"}', 400, "InvalidJson"),
    (b'{"name": "\\ud800"}', 400, "InvalidJson"),
    (b'{"name": "a", "admin": true}', 400, "ValidationError"),
    (b'{"name": "a", "createdAt": "2020-01-01"}', 400, "ValidationError"),
    (b'{"name": 12}', 400, "ValidationError"),
    (b'{"name": 1.5}', 400, "ValidationError"),
    (b'{"name": ""}', 400, "ValidationError"),
    (b'{"name": "   "}', 400, "ValidationError"),
    (b'{"name": "a\\u0000b"}', 400, "ValidationError"),
    (b'{"email": "x@example.com"}', 400, "ValidationError"),
    (b'{"name": "a", "email": "not-an-email"}', 400, "ValidationError"),
    (b'{"name": "a", "email": 5}', 400, "ValidationError"),
    (b'{"name": "a", "userid": "has space"}', 400, "ValidationError"),
    (b'{"name": "a", "userid": ""}', 400, "ValidationError"),
    (b'{"name": "a", "userid": 42}', 400, "ValidationError"),
])
def test_create_rejects_bad_bodies(client: Any, repo: Any, raw: bytes, status: int, code: str) -> None:
    assert_error(call(client, "POST", "/users", who=token_of(ADMIN), raw=raw), status, code)
    assert repo.items == {}


def test_create_validation_names_fields(client: Any) -> None:
    r = call(client, "POST", "/users", {"name": "x" * 257, "email": "bad", "role": "admin"}, who=token_of(ADMIN))
    assert_error(r, 400, "ValidationError")
    assert set(r.data["Fields"]) == {"name", "email", "role"}


def test_create_limits(client: Any) -> None:
    ok = call(client, "POST", "/users", {"name": "x" * 256, "userid": "u" * 128}, who=token_of(ADMIN))
    assert ok.status_code == 200
    assert_error(call(client, "POST", "/users", {"name": "x", "userid": "u" * 129}, who=token_of(ADMIN)), 400,
                 "ValidationError")
    long_email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".com"
    assert len(long_email) > 254
    assert_error(call(client, "POST", "/users", {"name": "x", "email": long_email}, who=token_of(ADMIN)), 400)


def test_wrong_content_type_is_415(client: Any) -> None:
    r = call(client, "POST", "/users", who=token_of(ADMIN), raw=b'{"name": "a"}',
             headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "UnsupportedMediaType")


def test_huge_body_is_413(client: Any, repo: Any) -> None:
    r = call(client, "POST", "/users", {"name": "a", "pad": "x" * 70000}, who=token_of(ADMIN))
    assert_error(r, 413, "PayloadTooLarge")
    assert repo.items == {}


def test_unicode_name_is_stored_exactly(client: Any) -> None:
    r = call(client, "POST", "/users", {"name": "Zoë 李 🚀"}, who=token_of(ADMIN))
    assert r.status_code == 200 and r.data["name"] == "Zoë 李 🚀"


# --- get / put / delete -------------------------------------------------------------------------

def test_get_missing_is_404(client: Any) -> None:
    assert_error(call(client, "GET", f"/users/{OWNER}", who=token_of(OWNER)), 404, "NotFound")
    assert_error(call(client, "GET", "/users/nobody", who=token_of(ADMIN)), 404, "NotFound")


def test_bad_userid_in_path_is_400_for_admin_and_403_for_others(client: Any) -> None:
    assert_error(call(client, "GET", "/users/bad%21id", who=token_of(ADMIN)), 400, "ValidationError")
    assert_error(call(client, "GET", "/users/" + "u" * 129, who=token_of(ADMIN)), 400, "ValidationError")
    assert_error(call(client, "GET", "/users/bad%21id", who=token_of(OWNER)), 403)


def test_put_creates_then_updates_preserving_created_at(client: Any, repo: Any, clock: Any) -> None:
    r1 = call(client, "PUT", f"/users/{OWNER}", {"name": "Me", "email": "me@example.com"}, who=token_of(OWNER))
    assert r1.status_code == 200, r1.body
    created = r1.data["createdAt"]
    assert r1.data == {"userid": OWNER, "name": "Me", "email": "me@example.com", "createdAt": created,
                       "updatedAt": created, "timestamp": created}
    clock.advance(seconds=60)
    r2 = call(client, "PUT", f"/users/{OWNER}", {"name": "Me Again", "userid": OWNER}, who=token_of(OWNER))
    assert r2.status_code == 200
    assert r2.data["createdAt"] == created
    assert r2.data["updatedAt"] == r2.data["timestamp"] == "2026-01-02T03:05:05.678901+00:00"
    assert "email" not in r2.data  # PUT replaces the editable fields; no email given -> none kept
    assert repo.items[OWNER] == r2.data
    assert call(client, "GET", f"/users/{OWNER}", who=token_of(OWNER)).data == r2.data


def test_put_rejects_a_different_userid_and_read_only_fields(client: Any, repo: Any) -> None:
    r = call(client, "PUT", f"/users/{OWNER}", {"name": "x", "userid": OTHER}, who=token_of(OWNER))
    assert_error(r, 400, "ValidationError")
    r = call(client, "PUT", f"/users/{OWNER}", {"name": "x", "createdAt": "1999-01-01T00:00:00+00:00"},
             who=token_of(OWNER))
    assert_error(r, 400, "ValidationError")
    assert_error(call(client, "PUT", f"/users/{OWNER}", who=token_of(OWNER), raw=b"[]"), 400, "InvalidJson")
    assert repo.items == {}


def test_delete_then_404(client: Any, repo: Any) -> None:
    seed(repo, OWNER)
    r = call(client, "DELETE", f"/users/{OWNER}", who=token_of(OWNER))
    assert r.status_code == 200 and r.data == {}
    assert OWNER not in repo.items
    assert_error(call(client, "DELETE", f"/users/{OWNER}", who=token_of(OWNER)), 404, "NotFound")


def test_stored_numbers_render_exactly(client: Any, repo: Any) -> None:
    """Workshop data may hold numbers (Decimal from DynamoDB): reads must not break."""
    from decimal import Decimal
    repo.items["legacy"] = {"userid": "legacy", "name": "Old", "timestamp": Decimal("1700000000.5"),
                            "age": Decimal("42")}
    r = call(client, "GET", "/users/legacy", who=token_of(ADMIN))
    assert r.status_code == 200
    assert r.body == b'{"userid":"legacy","name":"Old","timestamp":1700000000.5,"age":42}'
    assert call(client, "GET", "/users", who=token_of(ADMIN)).status_code == 200


def test_every_route_is_one_storage_call(client: Any, repo: Any) -> None:
    seed(repo, OWNER)
    for method, path, body in [("GET", "/users", None), ("POST", "/users", {"name": "n"}),
                               ("GET", f"/users/{OWNER}", None), ("PUT", f"/users/{OWNER}", {"name": "n"}),
                               ("DELETE", f"/users/{OWNER}", None)]:
        before = repo.calls
        assert call(client, method, path, body, who=token_of(ADMIN)).status_code == 200
        assert repo.calls == before + 1, (method, path)


# --- list + pagination -------------------------------------------------------------------------------

def test_list_paginates_with_link_header(client: Any, repo: Any) -> None:
    for i in range(7):
        seed(repo, f"user-{i}")
    seen = []
    r = call(client, "GET", "/users?limit=3", who=token_of(ADMIN))
    pages = 0
    while True:
        assert r.status_code == 200 and isinstance(r.data, list)
        pages += 1
        seen += [u["userid"] for u in r.data]
        link = r.headers.get("Link")
        if not link:
            assert "X-Next-Token" not in r.headers
            break
        assert link.startswith("</users?limit=3&nextToken=") and link.endswith('>; rel="next"')
        assert r.headers["X-Next-Token"] in link
        r = call(client, "GET", link[1:link.index(">")], who=token_of(ADMIN))
    assert sorted(seen) == [f"user-{i}" for i in range(7)] and len(seen) == 7
    assert pages == 3


def test_list_default_limit_is_50(client: Any, repo: Any) -> None:
    for i in range(51):
        seed(repo, f"user-{i:03d}")
    r = call(client, "GET", "/users", who=token_of(ADMIN))
    assert len(r.data) == 50 and "Link" in r.headers


def test_list_empty_and_exact_page(client: Any, repo: Any) -> None:
    r = call(client, "GET", "/users", who=token_of(ADMIN))
    assert r.status_code == 200 and r.data == [] and "Link" not in r.headers
    seed(repo, "a")
    r = call(client, "GET", "/users?limit=1", who=token_of(ADMIN))
    assert [u["userid"] for u in r.data] == ["a"]
    # a full last page has a next link (DynamoDB cannot tell), the page after it is empty and final
    nxt = call(client, "GET", r.headers["Link"][1:r.headers["Link"].index(">")], who=token_of(ADMIN))
    assert nxt.status_code == 200 and nxt.data == [] and "Link" not in nxt.headers


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1.5", "limit="])
def test_list_limit_out_of_range_is_400(client: Any, query: str) -> None:
    assert_error(call(client, "GET", f"/users?{query}", who=token_of(ADMIN)), 400, "InvalidParameter")


@pytest.mark.parametrize("token", ["garbage", "eyJ1c2VyaWQiOjF9", "eyJvdGhlciI6IngifQ", "x" * 3000,
                                   "eyJ1c2VyaWQiOiJhIiwiZXh0cmEiOiJiIn0"])
def test_tampered_next_token_is_400(client: Any, token: str) -> None:
    assert_error(call(client, "GET", f"/users?nextToken={token}", who=token_of(ADMIN)), 400, "InvalidNextToken")


# --- authorizer edge cases through the gateway -----------------------------------------------------

@pytest.mark.parametrize("header", [
    "garbage", "Bearer ", "a.b.c", tokens.id_token(OWNER, foreign_key=True), tokens.id_token(OWNER, exp=1),
    tokens.id_token(OWNER, iss="https://evil.example.com"), tokens.id_token(OWNER, aud="other-client"),
    tokens.id_token(OWNER, token_use="access"), tokens.id_token(OWNER, sub=None), "Bearer \u00e9\u00e9",
])
def test_bad_tokens_get_401(client: Any, repo: Any, header: str) -> None:
    seed(repo, OWNER)
    r = call(client, "GET", f"/users/{OWNER}", headers={"Authorization": header})
    assert_error(r, 401, "Unauthorized")


def test_bearer_prefix_and_lookalike_admin_groups(client: Any) -> None:
    ok = call(client, "GET", "/users",
              headers={"Authorization": "Bearer " + tokens.id_token(ADMIN, ["x", "apiAdmins"])})
    assert ok.status_code == 200  # admin group anywhere in the list
    for groups in (["notapiAdmins"], ["apiAdmins "], ["APIADMINS"], []):
        r = call(client, "GET", "/users", headers={"Authorization": tokens.id_token(ADMIN, groups)})
        assert_error(r, 403)


def test_jwks_unavailable_with_cold_cache_is_a_503(client: Any, mod: Any, repo: Any) -> None:
    failing = tokens.verifier(mod.verifier.CognitoVerifier, mod.jwks.JwksClient, fail=True)
    mod.app.root.install(mod.app.compose(repo=repo, verifier=failing))
    r = call(client, "GET", f"/users/{OWNER}", who=token_of(OWNER))
    assert_error(r, 503)
    assert r.headers.get("Retry-After") == "1"


# --- infrastructure errors ---------------------------------------------------------------------------

class _Broken:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.exc
        return fail


def test_dynamodb_throttling_and_outage_are_503(client: Any, mod: Any, clock: Any,
                                                test_verifier: Any) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError
    throttled = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
    for exc in (ClientError(throttled, "GetItem"),
                EndpointConnectionError(endpoint_url="http://127.0.0.1:9")):
        mod.app.root.install(mod.app.compose(repo=_Broken(exc), clock=clock, verifier=test_verifier))
        r = call(client, "GET", f"/users/{OWNER}", who=token_of(OWNER))
        assert_error(r, 503)
        assert r.headers["Retry-After"]


def test_bug_is_a_plain_500_without_details(client: Any, mod: Any, clock: Any, test_verifier: Any) -> None:
    mod.app.root.install(mod.app.compose(repo=_Broken(RuntimeError("secret detail")), clock=clock,
                                         verifier=test_verifier))
    r = call(client, "GET", f"/users/{OWNER}", who=token_of(OWNER))
    assert_error(r, 500)
    assert b"secret" not in r.body and b"Traceback" not in r.body


# --- observability -------------------------------------------------------------------------------------

def test_metrics_emitted_and_no_personal_data_logged(client: Any, capsys: Any, mod: Any) -> None:
    import io
    capsys.readouterr()
    handler = mod.app.logger.registered_handler
    log = io.StringIO()
    old_stream = handler.setStream(log)
    r = call(client, "POST", "/users", {"name": "Secret Name", "email": "secret@example.com"}, who=token_of(ADMIN))
    assert r.status_code == 200
    call(client, "DELETE", f"/users/{r.data['userid']}", who=token_of(ADMIN))
    call(client, "GET", "/users/x", headers={"Authorization": "Bearer " + tokens.id_token(OWNER, foreign_key=True)})
    handler.setStream(old_stream)
    out = capsys.readouterr()
    text = out.out + out.err + log.getvalue()
    assert '"UserCreated"' in text and '"UserDeleted"' in text
    assert "Secret Name" not in text and "secret@example.com" not in text
    assert "eyJ" not in text  # no token fragment anywhere
    assert "bad_signature" in text  # the denial is logged with its reason
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    denial = next(line for line in lines if line.get("reason") == "bad_signature")
    assert denial["service"] == "users"
    request = next(line for line in lines if line["message"] == "request" and line["route"] == "POST /users")
    assert request["principal"] == ADMIN and request["status"] == 200 and request["level"] == "INFO"
    assert request["correlation_id"] and "cold_start" in request


def test_unreachable_dynamodb_fails_fast_with_503(client: Any, mod: Any, clock: Any, test_verifier: Any) -> None:
    """The real DynamoDB repository and botocore client, pointed at a closed port."""
    import time

    import boto3
    from botocore.config import Config
    ddb = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:1", region_name="us-east-1",
                       config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}))
    mod.app.root.install(mod.app.compose(repo=mod.repository.DynamoUsersRepository(ddb, "t"), clock=clock,
                                         verifier=test_verifier))
    started = time.monotonic()
    for method, path, body in [("GET", "/users", None), ("POST", "/users", {"name": "n"}),
                               ("GET", f"/users/{OWNER}", None), ("PUT", f"/users/{OWNER}", {"name": "n"}),
                               ("DELETE", f"/users/{OWNER}", None)]:
        r = call(client, method, path, body, who=token_of(ADMIN))
        assert_error(r, 503, "DependencyUnavailable")
        assert r.headers["Retry-After"]
    assert time.monotonic() - started < 5


NOT_NULL = "must not be null (leave it out instead)"


def test_null_userid_is_a_400_and_null_email_means_no_email(client: Any, mod: Any, repo: Any) -> None:
    """`email` is the one nullable field (the document says `nullable: true`; null = no email); `null`
    for any other optional field is refused, naming it, as the document's `type: string` says."""
    for model in (mod.models.CREATE_USER, mod.models.UPDATE_USER):
        assert model.nullable == ("email",)
        assert [n for n, (_, required) in model.properties.items() if not required] == ["email", "userid"]
    error = assert_error(call(client, "POST", "/users", {"name": "n", "userid": None}, who=token_of(ADMIN)), 400,
                         "ValidationError")
    assert error["Fields"] == {"userid": NOT_NULL}
    assert not repo.items
    created = call(client, "POST", "/users", {"name": "n", "email": None, "userid": "u-1"}, who=token_of(ADMIN))
    assert created.status_code == 200 and "email" not in created.data
    error = assert_error(call(client, "PUT", f"/users/{OWNER}", {"name": "n", "userid": None}, who=token_of(OWNER)),
                         400, "ValidationError")
    assert error["Fields"] == {"userid": NOT_NULL}
    updated = call(client, "PUT", f"/users/{OWNER}", {"name": "n", "email": None}, who=token_of(OWNER))
    assert updated.status_code == 200 and "email" not in updated.data
