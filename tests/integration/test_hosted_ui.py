"""The local hosted login page (deploy/local/hosted_ui.py) over HTTP, as a browser client uses it: the
authorization code flow with and without PKCE, the token, refresh and userInfo endpoints, logout, the
CORS answers a docs page on another port needs, and Cognito's answer to each mistake. Tokens got through
the page must work on both APIs. Local only: a deployed stage's hosted UI is Cognito's own."""
import base64
import hashlib
import os
import secrets
import subprocess
import sys
import time
from typing import Any, Dict, Iterator, Optional, Tuple
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from deploy.local import cognito, hosted_ui
from deploy.local.processes import free_port, terminate, wait_for_http
from deploy.project import ROOT
from tests.support.http import call
from tests.support.stack import StackHandle, User

pytestmark = pytest.mark.integration

TIMEOUT = 10
CALLBACK = "http://localhost"  # the workshop's callback, in CognitoLoginURL


@pytest.fixture(autouse=True)
def _local_only(local_stack_only: None) -> None:
    """Every test here needs the local login page (INTEGRATION_OUTPUTS may name a deployed stage)."""


@pytest.fixture(scope="module")
def auth(stack: StackHandle) -> str:
    """The login page's base URL (from CognitoLoginURL, as a client finds it)."""
    parts = urlsplit(stack.outputs["users"]["CognitoLoginURL"])
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture(scope="module")
def person(stack: StackHandle) -> User:
    return stack.new_user()


def pkce_pair() -> Tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_query(stack: StackHandle, redirect_uri: str = CALLBACK, **extra: str) -> str:
    return urlencode({"client_id": stack.client_id, "response_type": "code", "redirect_uri": redirect_uri, **extra})


def sign_in(base: str, query: str, who: User, password: Optional[str] = None) -> requests.Response:
    return requests.post(f"{base}/login?{query}", data={"username": who.email, "password": password or who.password},
                         allow_redirects=False, timeout=TIMEOUT)


def code_from(response: requests.Response, redirect_uri: str = CALLBACK) -> Dict[str, str]:
    assert response.status_code == 302, response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token(base: str, **form: str) -> requests.Response:
    return requests.post(f"{base}/oauth2/token", data=form, allow_redirects=False, timeout=TIMEOUT)


def exchange(base: str, stack: StackHandle, code: str, redirect_uri: str = CALLBACK, **extra: str) -> requests.Response:
    return token(base, grant_type="authorization_code", client_id=stack.client_id, code=code,
                 redirect_uri=redirect_uri, **extra)


def logged_in(base: str, stack: StackHandle, who: User) -> Dict[str, Any]:
    """The token endpoint's answer after a plain code flow."""
    answer = exchange(base, stack, code_from(sign_in(base, authorize_query(stack), who))["code"])
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def assert_error_page(response: requests.Response, base: str, error: str) -> None:
    """Cognito's answer to a bad client or redirect_uri: its own error page, never the client's URL."""
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/error?"), location
    assert parse_qs(urlsplit(location).query)["error"] == [error]
    page = requests.get(base + location, timeout=TIMEOUT)
    assert page.status_code == 400 and "An error was encountered" in page.text and error in page.text


def assert_oauth_error(response: requests.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error


# -- the page -------------------------------------------------------------------------------------
def test_cognito_login_url_opens_the_login_form(stack: StackHandle) -> None:
    page = requests.get(stack.outputs["users"]["CognitoLoginURL"], allow_redirects=False, timeout=TIMEOUT)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<form method="post"' in page.text
    assert 'name="username"' in page.text and 'name="password"' in page.text


def test_authorize_redirects_to_login_with_the_same_query(auth: str, stack: StackHandle) -> None:
    query = authorize_query(stack, state="s-1", scope="openid email")
    answer = requests.get(f"{auth}/oauth2/authorize?{query}", allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/login?{query}"


def test_the_local_client_has_the_deployed_oauth_settings_and_the_docs_callbacks(stack: StackHandle) -> None:
    client = stack.idp.describe_user_pool_client(UserPoolId=stack.pool_id, ClientId=stack.client_id)["UserPoolClient"]
    ports = [urlsplit(url).port for url in (stack.users_url, stack.orders_url)]
    urls = [CALLBACK, *(f"http://localhost:{port}/docs/oauth2-redirect.html" for port in ports)]
    assert client["CallbackURLs"] == urls and client["LogoutURLs"] == urls
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]  # kept through the update


# -- the code flow ----------------------------------------------------------------------------------
def test_code_flow_tokens_are_moto_tokens_that_work_on_both_apis(auth: str, stack: StackHandle, person: User) -> None:
    tokens = logged_in(auth, stack, person)
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["iss"] == cognito.issuer(stack.pool_id) and claims["aud"] == stack.client_id
    assert claims["sub"] == person.sub and claims["token_use"] == "id"
    path = f"/users/{person.sub}"
    put = call(stack.users_url, "PUT", path, {"name": "Via the login page"}, who=tokens["id_token"])
    assert put.status_code == 200, put.text
    own = call(stack.users_url, "GET", path, who=tokens["id_token"])
    assert own.status_code == 200 and own.json()["name"] == "Via the login page"
    orders = call(stack.orders_url, "GET", "/orders", who=tokens["id_token"])
    assert orders.status_code == 200, orders.text


def test_code_flow_with_pkce_and_state_through_the_docs_callback(auth: str, stack: StackHandle, person: User) -> None:
    docs = hosted_ui.docs_redirect_url(urlsplit(stack.orders_url).port or 0)
    verifier, challenge = pkce_pair()
    query = authorize_query(stack, docs, state="st<&>1", scope="openid", code_challenge=challenge,
                            code_challenge_method="S256")
    assert requests.get(f"{auth}/login?{query}", timeout=TIMEOUT).status_code == 200
    back = code_from(sign_in(auth, query, person), docs)
    assert back["state"] == "st<&>1"
    answer = exchange(auth, stack, back["code"], docs, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    assert call(stack.orders_url, "GET", "/orders", who=answer.json()["id_token"]).status_code == 200


def test_no_id_token_unless_openid_was_asked_for(auth: str, stack: StackHandle, person: User) -> None:
    query = authorize_query(stack, scope="email")
    answer = exchange(auth, stack, code_from(sign_in(auth, query, person))["code"])
    assert answer.status_code == 200 and "id_token" not in answer.json() and "access_token" in answer.json()


def test_refresh_grant_gives_new_tokens_without_a_refresh_token(auth: str, stack: StackHandle, person: User) -> None:
    tokens = logged_in(auth, stack, person)
    answer = token(auth, grant_type="refresh_token", client_id=stack.client_id, refresh_token=tokens["refresh_token"])
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"id_token", "access_token", "expires_in", "token_type"}
    assert call(stack.orders_url, "GET", "/orders", who=answer.json()["id_token"]).status_code == 200
    assert_oauth_error(token(auth, grant_type="refresh_token", client_id=stack.client_id,
                             refresh_token="not-a-refresh-token"), "invalid_grant")


def test_user_info_answers_for_the_page_s_access_tokens_only(auth: str, stack: StackHandle, person: User) -> None:
    tokens = logged_in(auth, stack, person)
    info = requests.get(f"{auth}/oauth2/userInfo", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                        timeout=TIMEOUT)
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == person.sub and info.json()["email"] == person.email
    assert {"email_verified", "username"} <= set(info.json())
    # Cognito's userInfo refuses access tokens from InitiateAuth (no OAuth scopes) and bad ones: 401.
    for bad in (person.access_token, "not.a.token", tokens["id_token"]):
        refused = requests.get(f"{auth}/oauth2/userInfo", headers={"Authorization": f"Bearer {bad}"}, timeout=TIMEOUT)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    missing = requests.get(f"{auth}/oauth2/userInfo", timeout=TIMEOUT)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_logout_redirects_to_a_registered_sign_out_url_only(auth: str, stack: StackHandle) -> None:
    docs = hosted_ui.docs_redirect_url(urlsplit(stack.users_url).port or 0)
    out = requests.get(f"{auth}/logout", params={"client_id": stack.client_id, "logout_uri": docs},
                       allow_redirects=False, timeout=TIMEOUT)
    assert out.status_code == 302 and out.headers["Location"] == docs
    again = requests.get(f"{auth}/logout", params={"client_id": stack.client_id, "redirect_uri": CALLBACK,
                                                  "response_type": "code"}, allow_redirects=False, timeout=TIMEOUT)
    assert again.status_code == 302 and again.headers["Location"].startswith("/login?")
    assert_error_page(requests.get(f"{auth}/logout", params={"client_id": stack.client_id,
                                                             "logout_uri": "http://evil.example/"},
                                   allow_redirects=False, timeout=TIMEOUT), auth, "invalid_request")
    assert_error_page(requests.get(f"{auth}/logout", params={"client_id": "nosuchclient", "logout_uri": docs},
                                   allow_redirects=False, timeout=TIMEOUT), auth, "invalid_request")


# -- mistakes -------------------------------------------------------------------------------------
def test_wrong_password_shows_the_form_again_with_cognito_s_message(auth: str, stack: StackHandle,
                                                                   person: User) -> None:
    wrong = sign_in(auth, authorize_query(stack), person, password="Wrong-password1")
    assert wrong.status_code == 400 and "Incorrect username or password." in wrong.text
    assert '<form method="post"' in wrong.text and "Location" not in wrong.headers
    assert f'value="{person.email}"' in wrong.text  # the username is kept, the password is not
    for form in ({"username": "nobody@example.com", "password": "Whatever1"}, {"username": person.email}, {}):
        answer = requests.post(f"{auth}/login?{authorize_query(stack)}", data=form, allow_redirects=False,
                               timeout=TIMEOUT)
        assert answer.status_code == 400 and "Incorrect username or password." in answer.text, form


def test_unknown_client_gets_the_error_page_and_invalid_client(auth: str, stack: StackHandle) -> None:
    query = urlencode({"client_id": "nosuchclient", "response_type": "code", "redirect_uri": CALLBACK})
    for path in ("/login", "/oauth2/authorize"):
        assert_error_page(requests.get(f"{auth}{path}?{query}", allow_redirects=False, timeout=TIMEOUT),
                          auth, "invalid_request")
    assert_error_page(requests.post(f"{auth}/login?{query}", data={"username": "a", "password": "b"},
                                    allow_redirects=False, timeout=TIMEOUT), auth, "invalid_request")
    assert_oauth_error(token(auth, grant_type="authorization_code", client_id="nosuchclient", code="x",
                             redirect_uri=CALLBACK), "invalid_client")


def test_unregistered_redirect_uri_is_never_redirected_to(auth: str, stack: StackHandle, person: User) -> None:
    for uri in ("http://evil.example/", "http://localhost/", "https://localhost", ""):
        query = authorize_query(stack, uri)
        for method in ("GET", "POST"):
            answer = requests.request(method, f"{auth}/login?{query}", allow_redirects=False, timeout=TIMEOUT,
                                      data={"username": person.email, "password": person.password})
            assert_error_page(answer, auth, "redirect_mismatch")


def test_bad_request_parameters_go_back_to_the_registered_redirect_uri(auth: str, stack: StackHandle) -> None:
    _, challenge = pkce_pair()
    cases = {"unauthorized_client": {"response_type": "token"},
             "unsupported_response_type": {"response_type": "id_token"},
             "invalid_scope": {"scope": "openid aws.cognito.signin.user.admin"},
             "invalid_request": {"code_challenge": challenge, "code_challenge_method": "plain"}}
    for error, params in cases.items():
        query = urlencode({"client_id": stack.client_id, "response_type": "code", "redirect_uri": CALLBACK,
                           "state": "s", **params})
        answer = requests.get(f"{auth}/oauth2/authorize?{query}", allow_redirects=False, timeout=TIMEOUT)
        back = code_from(answer)
        assert back["error"] == error and back["state"] == "s" and "code" not in back, (error, back)


def test_a_code_is_single_use_and_bound_to_its_client_and_redirect_uri(auth: str, stack: StackHandle,
                                                                      person: User) -> None:
    code = code_from(sign_in(auth, authorize_query(stack), person))["code"]
    assert exchange(auth, stack, code).status_code == 200
    assert_oauth_error(exchange(auth, stack, code), "invalid_grant")  # replayed
    other = code_from(sign_in(auth, authorize_query(stack), person))["code"]
    docs = hosted_ui.docs_redirect_url(urlsplit(stack.users_url).port or 0)
    assert_oauth_error(exchange(auth, stack, other, docs), "invalid_grant")  # another registered redirect_uri
    assert_oauth_error(exchange(auth, stack, other), "invalid_grant")  # the failed try consumed it
    assert_oauth_error(exchange(auth, stack, "made-up-code"), "invalid_grant")


def test_wrong_or_missing_code_verifier_is_invalid_grant(auth: str, stack: StackHandle, person: User) -> None:
    verifier, challenge = pkce_pair()
    query = authorize_query(stack, code_challenge=challenge, code_challenge_method="S256")
    for wrong in ({"code_verifier": pkce_pair()[0]}, {}, {"code_verifier": challenge}):
        code = code_from(sign_in(auth, query, person))["code"]
        assert_oauth_error(exchange(auth, stack, code, **wrong), "invalid_grant")
    code = code_from(sign_in(auth, query, person))["code"]
    assert exchange(auth, stack, code, code_verifier=verifier).status_code == 200


def test_token_endpoint_errors_are_cognito_s(auth: str, stack: StackHandle) -> None:
    assert_oauth_error(token(auth, grant_type="password", client_id=stack.client_id), "unsupported_grant_type")
    assert_oauth_error(token(auth, grant_type="client_credentials", client_id=stack.client_id), "unauthorized_client")
    assert_oauth_error(token(auth, client_id=stack.client_id), "invalid_request")
    assert_oauth_error(token(auth, grant_type="authorization_code", client_id=stack.client_id,
                             redirect_uri=CALLBACK), "invalid_request")
    assert_oauth_error(token(auth, grant_type="authorization_code", code="x", redirect_uri=CALLBACK), "invalid_request")
    as_json = requests.post(f"{auth}/oauth2/token", json={"grant_type": "authorization_code"}, timeout=TIMEOUT)
    assert_oauth_error(as_json, "invalid_request")
    basic = requests.post(f"{auth}/oauth2/token", data={"grant_type": "authorization_code"}, timeout=TIMEOUT,
                          headers={"Authorization": "Basic !!!"})
    assert_oauth_error(basic, "invalid_client")


def test_token_and_user_info_answer_cors_like_cognito(auth: str, stack: StackHandle, person: User) -> None:
    origin = "http://localhost:3002"
    for path, method in (("/oauth2/token", "POST"), ("/oauth2/userInfo", "GET")):
        preflight = requests.options(f"{auth}{path}", timeout=TIMEOUT, headers={
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code in (200, 204)
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert method in preflight.headers["Access-Control-Allow-Methods"]
        assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    code = code_from(sign_in(auth, authorize_query(stack), person))["code"]
    answer = requests.post(f"{auth}/oauth2/token", headers={"Origin": origin}, timeout=TIMEOUT,
                           data={"grant_type": "authorization_code", "client_id": stack.client_id, "code": code,
                                 "redirect_uri": CALLBACK})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == origin
    refused = requests.post(f"{auth}/oauth2/token", headers={"Origin": origin}, timeout=TIMEOUT,
                            data={"grant_type": "nope", "client_id": stack.client_id})
    assert refused.status_code == 400 and refused.headers["Access-Control-Allow-Origin"] == origin  # readable


# -- expiry: a second login page on the same moto, with codes that live two seconds -----------------------
@pytest.fixture(scope="module")
def short_lived(stack: StackHandle) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "LOCAL_AUTH_CODE_TTL_S": "2", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "deploy.local.hosted_ui", "--port", str(port), "--idp-url",
                             stack.outputs["CognitoEndpointUrl"], "--pool-id", stack.pool_id], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/error", proc, 30)
        yield f"http://localhost:{port}"
    finally:
        terminate(proc.pid)
        proc.wait(timeout=10)


def test_an_expired_code_is_invalid_grant(short_lived: str, stack: StackHandle, person: User) -> None:
    fresh = code_from(sign_in(short_lived, authorize_query(stack), person))["code"]
    assert exchange(short_lived, stack, fresh).status_code == 200
    stale = code_from(sign_in(short_lived, authorize_query(stack), person))["code"]
    time.sleep(2.5)
    assert_oauth_error(exchange(short_lived, stack, stale), "invalid_grant")


def test_a_bad_code_ttl_setting_is_one_clear_line() -> None:
    result = subprocess.run([sys.executable, "-m", "deploy.local.hosted_ui", "--port", str(free_port()),
                             "--idp-url", "http://127.0.0.1:1", "--pool-id", "x"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30, env={**os.environ, "LOCAL_AUTH_CODE_TTL_S": "soon",
                                                        "PYTHONPATH": str(ROOT)})
    assert result.returncode != 0 and "LOCAL_AUTH_CODE_TTL_S" in result.stderr and "Traceback" not in result.stderr
