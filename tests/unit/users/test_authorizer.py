"""The authorizer's policy, called as API Gateway calls it (the deployed authorizer Lambda runs
`users_authorizer(event, context)`), with real RS256 tokens signed by a test key."""
from typing import Any, Dict, List

import pytest

from tests.support import tokens
from tests.support.clock import FakeMonotonic

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/users/someone"
PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abc123/api"


@pytest.fixture
def authorizer(mod: Any, repo: Any, test_verifier: Any) -> Any:
    mod.app.root.install(mod.app.compose(repo=repo, verifier=test_verifier))
    yield lambda token, arn=ARN: mod.app.users_authorizer({"type": "TOKEN", "authorizationToken": token,
                                                           "methodArn": arn}, None)


def allowed(result: Dict[str, Any]) -> List[str]:
    [statement] = result["policyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    return statement["Resource"] if statement["Effect"] == "Allow" else []


def test_admin_may_call_every_users_route(authorizer: Any) -> None:
    result = authorizer(tokens.id_token("admin-1", ["readers", "apiAdmins"]))
    assert result["principalId"] == "admin-1"
    assert result["context"] == {"sub": "admin-1", "isAdmin": "true", "tokenUse": "id"}
    assert sorted(allowed(result)) == [f"{PREFIX}/*/users", f"{PREFIX}/*/users/*"]


def test_regular_user_gets_only_their_own_record(authorizer: Any) -> None:
    # the policy is cached per token for every route: it must not depend on the route asked for
    for arn in (ARN, f"{PREFIX}/POST/users", f"{PREFIX}/GET/users/user-1"):
        result = authorizer(tokens.id_token("user-1", ["readers"]), arn)
        assert result["principalId"] == "user-1"
        assert result["context"] == {"sub": "user-1", "isAdmin": "false", "tokenUse": "id"}
        assert sorted(allowed(result)) == sorted(f"{PREFIX}/{m}/users/user-1" for m in ("GET", "PUT", "DELETE"))


def test_a_regular_users_policy_matches_every_route_they_may_call(authorizer: Any) -> None:
    """API Gateway caches the policy per token and judges every later route against it, so whatever
    route came first, the policy must match GET/PUT/DELETE on the user's own record and nothing
    else, as the local gateway matches it (Chalice's ARNMatcher): else the cache turns an allowed
    call into a 403, or a forbidden one into a 200."""
    from chalice.local import ARNMatcher

    own = [f"{PREFIX}/{method}/users/user-1" for method in ("GET", "PUT", "DELETE")]
    others = [f"{PREFIX}/GET/users", f"{PREFIX}/POST/users", f"{PREFIX}/POST/users/user-1",
              f"{PREFIX}/PATCH/users/user-1", f"{PREFIX}/GET/users/user-2", f"{PREFIX}/GET/users/user-10",
              f"{PREFIX}/GET/users/user-1/x"]
    for first in own + others:
        resources = allowed(authorizer(tokens.id_token("user-1", ["readers"]), first))
        assert [arn for arn in own if not ARNMatcher(arn).does_any_resource_match(resources)] == [], first
        assert [arn for arn in others if ARNMatcher(arn).does_any_resource_match(resources)] == [], first


def test_context_is_flat_strings(authorizer: Any) -> None:
    for token in (tokens.id_token("a-1", ["apiAdmins"]), tokens.id_token("b-2")):
        context = authorizer(token)["context"]
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in context.items())


@pytest.mark.parametrize("groups", [["notapiAdmins"], ["apiAdmins "], ["apiadmins"], "xapiAdmins", None])
def test_lookalike_groups_are_not_admin(authorizer: Any, groups: Any) -> None:
    result = authorizer(tokens.id_token("user-1", groups if groups is None or isinstance(groups, list) else None,
                                     **({"cognito:groups": groups} if isinstance(groups, str) else {})))
    assert result["context"]["isAdmin"] == "false"


def test_comma_string_groups_as_api_gateway_sends_them(authorizer: Any) -> None:
    assert authorizer(tokens.id_token("a-1", **{"cognito:groups": "x,apiAdmins"}))["context"]["isAdmin"] == "true"


def test_a_sub_that_cannot_be_a_userid_is_denied_everything(authorizer: Any) -> None:
    result = authorizer(tokens.id_token("weird/sub*"))
    [statement] = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Resource"] == [f"{PREFIX}/*"]


@pytest.mark.parametrize("token", [
    "", "garbage", "Bearer", "a.b.c", "x" * 10000,
    tokens.id_token("u", foreign_key=True), tokens.id_token("u", exp=1000), tokens.id_token("u", nbf=4102444800),
    tokens.id_token("u", iss="https://cognito-idp.us-east-1.amazonaws.com/other"), tokens.id_token("u", aud="x"),
    tokens.id_token("u", token_use="access"), tokens.id_token("u", sub=None), "Bearer \u00ff\u00fe.\u2603.x",
])
def test_invalid_tokens_raise_exactly_unauthorized(authorizer: Any, token: str) -> None:
    with pytest.raises(Exception) as info:
        authorizer(token)
    assert type(info.value) is Exception and str(info.value) == "Unauthorized"


def test_bearer_prefix_is_accepted(authorizer: Any) -> None:
    assert authorizer("Bearer " + tokens.id_token("user-1"))["principalId"] == "user-1"


def test_unexpected_error_is_unauthorized_not_a_crash(authorizer: Any, mod: Any, repo: Any) -> None:
    class Exploding:
        def verify(self, token: str) -> Any:
            raise KeyError("boom")
    mod.app.root.install(mod.app.compose(repo=repo, verifier=Exploding()))
    with pytest.raises(Exception) as info:
        authorizer(tokens.id_token("user-1"))
    assert str(info.value) == "Unauthorized"


def test_jwks_unavailable_with_cold_cache_is_the_documented_failure(authorizer: Any, mod: Any, repo: Any) -> None:
    failing = tokens.verifier(mod.verifier.CognitoVerifier, mod.jwks.JwksClient, fail=True)
    mod.app.root.install(mod.app.compose(repo=repo, verifier=failing))
    with pytest.raises(mod.auth.AuthorizerUnavailable):
        authorizer(tokens.id_token("user-1"))


def test_warm_cache_keeps_verifying_when_jwks_goes_down(mod: Any, repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeMonotonic().as_process_clock(monkeypatch)
    state = {"up": True}

    def fetch(url: str, timeout: float) -> bytes:
        if not state["up"]:
            raise OSError("down")
        return tokens.jwks_bytes()
    keys = tokens.keys(mod.jwks.JwksClient, fetch)
    verifier = mod.verifier.CognitoVerifier(tokens.ISSUER, tokens.CLIENT_ID, keys=keys)
    mod.app.root.install(mod.app.compose(repo=repo, verifier=verifier))
    call = lambda: mod.app.users_authorizer(  # noqa: E731
        {"type": "TOKEN", "authorizationToken": tokens.id_token("u-1"), "methodArn": ARN}, None)
    assert call()["principalId"] == "u-1"
    state["up"] = False
    clock.now += 7200  # past the key set's lifespan and any retry interval: the refresh fails
    assert call()["principalId"] == "u-1"  # stale keys beat failing


def test_ttl_is_set(mod: Any) -> None:
    [config] = [a for a in mod.app.app.builtin_auth_handlers if a.name == "users_authorizer"]
    assert config.ttl_seconds == mod.auth.AUTHORIZER_TTL_SECONDS > 0


AS_LAMBDA = r"""
import json, sys
import app
HEAVY = ("boto3", "chalicelib.shared.otlp_udp")
loaded_at_import = [name for name in HEAVY if name in sys.modules]
result = None
if sys.argv[1] == "authorize":
    result = app.users_authorizer({"type": "TOKEN", "authorizationToken": sys.argv[2],
                                   "methodArn": "arn:aws:execute-api:us-east-1:1:abc/api/GET/users/user-1"}, None)
print(json.dumps({"at_import": loaded_at_import, "at_end": [name for name in HEAVY if name in sys.modules],
                  "result": result}))
"""


@pytest.mark.parametrize("handler", ["app.users_authorizer", "app.app"])
def test_only_the_api_function_pays_for_boto3_and_the_tracer(handler: str) -> None:
    """Lambda runs the authorizer as its own function on the same app.py, named by _HANDLER: it
    verifies tokens, reads no table and serves no HTTP request, so it must import neither boto3
    nor the trace exporter (boto3 is most of a cold start); the API function builds both during init
    (as deployed: TRACING=xray)."""
    import json
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from tests.support.apps import TEST_ENV, app_dir

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = tokens.jwks_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"PATH": "/usr/bin:/bin", **TEST_ENV["users_app"],
           "JWKS_URL": f"http://127.0.0.1:{server.server_port}/jwks.json",
           "_HANDLER": handler, "TRACING": "xray", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_EC2_METADATA_DISABLED": "true"}
    try:
        mode = "authorize" if handler == "app.users_authorizer" else "import"
        proc = subprocess.run([sys.executable, "-c", AS_LAMBDA, mode, tokens.id_token("user-1")],
                              cwd=app_dir("users_app"), env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.splitlines()[-1])
    if handler == "app.users_authorizer":
        assert seen["result"]["principalId"] == "user-1"
        assert seen["result"]["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert seen["at_end"] == [], "the authorizer function imported these"
    else:
        assert seen["at_import"] == ["boto3", "chalicelib.shared.otlp_udp"], "the API function builds both in init"
