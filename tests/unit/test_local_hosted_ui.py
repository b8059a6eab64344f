"""The local login page's pure parts (deploy/local/hosted_ui.py): the one-time code store on a fake
clock, the PKCE check, the authorize request's validation against an app client, and the pages'
escaping. The HTTP endpoints are tested against a running stack (tests/integration/test_hosted_ui.py)."""
import base64
from typing import Any, Dict

import pytest

from deploy.local.hosted_ui import (
    CODE_TTL_S,
    CodeStore,
    ErrorPage,
    Grant,
    OAuthError,
    basic_client_id,
    callback_urls,
    check_authorize,
    docs_redirect_url,
    error_page,
    login_page,
    pkce_matches,
    s256,
    with_query,
)
from tests.support.clock import FakeMonotonic

CLIENT: Dict[str, Any] = {"ClientId": "c1", "CallbackURLs": ["http://localhost", "http://localhost:3002/docs/x"],
                          "AllowedOAuthFlows": ["code"], "AllowedOAuthFlowsUserPoolClient": True,
                          "AllowedOAuthScopes": ["email", "openid", "profile"]}
RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"   # RFC 7636, appendix B
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def grant(**changes: Any) -> Grant:
    values: Dict[str, Any] = {"client_id": "c1", "redirect_uri": "http://localhost", "tokens": {"IdToken": "t"}}
    values.update(changes)
    return Grant(**values)


def params(**changes: str) -> Dict[str, str]:
    values = {"client_id": "c1", "response_type": "code", "redirect_uri": "http://localhost"}
    values.update(changes)
    return {k: v for k, v in values.items() if v != "-"}


# -- codes ------------------------------------------------------------------------------------------
def test_a_code_redeems_once_for_its_client_and_redirect_uri() -> None:
    store = CodeStore(clock=FakeMonotonic())
    code = store.issue(grant())
    assert store.redeem(code, "c1", "http://localhost", None).tokens == {"IdToken": "t"}
    with pytest.raises(OAuthError) as replay:
        store.redeem(code, "c1", "http://localhost", None)
    assert replay.value.error == "invalid_grant" and replay.value.body() == {"error": "invalid_grant"}


@pytest.mark.parametrize("client_id, redirect_uri", [("c2", "http://localhost"), ("c1", "http://localhost/"),
                                                     ("c1", "http://localhost:3002/docs/x")])
def test_a_code_for_another_client_or_redirect_uri_is_refused_and_spent(client_id: str, redirect_uri: str) -> None:
    store = CodeStore(clock=FakeMonotonic())
    code = store.issue(grant())
    with pytest.raises(OAuthError, match="invalid_grant"):
        store.redeem(code, client_id, redirect_uri, None)
    with pytest.raises(OAuthError, match="invalid_grant"):  # the failed try consumed it
        store.redeem(code, "c1", "http://localhost", None)


def test_a_code_expires_after_cognito_s_five_minutes() -> None:
    clock = FakeMonotonic()
    store = CodeStore(clock=clock)
    assert CODE_TTL_S == 300
    early, late = store.issue(grant()), store.issue(grant())
    clock.now += 299.9
    store.redeem(early, "c1", "http://localhost", None)
    clock.now += 0.1
    with pytest.raises(OAuthError, match="invalid_grant"):
        store.redeem(late, "c1", "http://localhost", None)


def test_codes_are_random_and_expired_ones_are_dropped() -> None:
    clock = FakeMonotonic()
    store = CodeStore(ttl=10, clock=clock)
    codes = {store.issue(grant()) for _ in range(50)}
    assert len(codes) == 50 and all(len(code) >= 40 for code in codes)
    clock.now += 11
    store.issue(grant())
    assert len(store._grants) == 1


def test_a_pkce_code_needs_its_verifier() -> None:
    store = CodeStore(clock=FakeMonotonic())
    with_challenge = grant(code_challenge=RFC7636_CHALLENGE, code_challenge_method="S256")
    for verifier in (None, "", RFC7636_CHALLENGE, RFC7636_VERIFIER + "x"):
        with pytest.raises(OAuthError, match="invalid_grant"):
            store.redeem(store.issue(with_challenge), "c1", "http://localhost", verifier)
    store.redeem(store.issue(with_challenge), "c1", "http://localhost", RFC7636_VERIFIER)


# -- PKCE -------------------------------------------------------------------------------------------
def test_s256_is_rfc_7636_s() -> None:
    assert s256(RFC7636_VERIFIER) == RFC7636_CHALLENGE


def test_pkce_matches() -> None:
    assert pkce_matches(None, None, None) and pkce_matches(None, None, "anything")  # no challenge, no check
    assert pkce_matches(RFC7636_CHALLENGE, "S256", RFC7636_VERIFIER)
    assert not pkce_matches(RFC7636_CHALLENGE, "S256", None)
    assert not pkce_matches(RFC7636_CHALLENGE, "plain", RFC7636_CHALLENGE)  # Cognito supports S256 only
    assert not pkce_matches("abc", "S256", "abc")


# -- the authorize request --------------------------------------------------------------------------
def test_a_good_request_gets_all_the_client_s_scopes_when_it_asks_none() -> None:
    request = check_authorize(params(state="s"), CLIENT)
    assert request.scopes == ("email", "openid", "profile") and request.state == "s"
    assert check_authorize(params(scope="openid email"), CLIENT).scopes == ("openid", "email")
    pkce = check_authorize(params(code_challenge="c", code_challenge_method="S256"), CLIENT)
    assert (pkce.code_challenge, pkce.code_challenge_method) == ("c", "S256")


@pytest.mark.parametrize("request_params, client, error", [
    (params(client_id="-"), CLIENT, "invalid_request"),
    (params(), None, "invalid_request"),
    (params(redirect_uri="-"), CLIENT, "redirect_mismatch"),
    (params(redirect_uri="http://localhost/"), CLIENT, "redirect_mismatch"),
    (params(redirect_uri="http://localhost:3002/docs/x?next=evil"), CLIENT, "redirect_mismatch"),
    (params(redirect_uri="https://evil.example", response_type="token"), CLIENT, "redirect_mismatch"),
])
def test_bad_client_or_redirect_uri_is_the_error_page(request_params: Dict[str, str], client: Any,
                                                      error: str) -> None:
    """Checked first: an error that cannot be trusted to go back to the client."""
    with pytest.raises(ErrorPage) as page:
        check_authorize(request_params, client)
    assert page.value.error == error


@pytest.mark.parametrize("request_params, client, error", [
    (params(response_type="-"), CLIENT, "unsupported_response_type"),
    (params(response_type="id_token"), CLIENT, "unsupported_response_type"),
    (params(response_type="token"), CLIENT, "unauthorized_client"),
    (params(), {**CLIENT, "AllowedOAuthFlowsUserPoolClient": False}, "unauthorized_client"),
    (params(scope="openid phone"), CLIENT, "invalid_scope"),
    (params(code_challenge="c"), CLIENT, "invalid_request"),
    (params(code_challenge_method="S256"), CLIENT, "invalid_request"),
    (params(code_challenge="c", code_challenge_method="plain"), CLIENT, "invalid_request"),
])
def test_other_mistakes_go_back_to_the_client(request_params: Dict[str, str], client: Any, error: str) -> None:
    with pytest.raises(OAuthError) as exc:
        check_authorize(request_params, client)
    assert exc.value.error == error


# -- small parts ------------------------------------------------------------------------------------
def test_the_docs_callbacks() -> None:
    assert docs_redirect_url(3002) == "http://localhost:3002/docs/oauth2-redirect.html"
    assert callback_urls([3001, 3002]) == ["http://localhost", docs_redirect_url(3001), docs_redirect_url(3002)]


def test_with_query_keeps_the_uri_s_own_query_and_drops_nones() -> None:
    assert with_query("http://localhost", {"code": "a b", "state": None}) == "http://localhost?code=a+b"
    assert with_query("http://x/cb?k=1", {"error": "e", "state": "&"}) == "http://x/cb?k=1&error=e&state=%26"


def test_basic_client_id() -> None:
    assert basic_client_id("") is None and basic_client_id("Bearer x") is None
    assert basic_client_id("Basic " + base64.b64encode(b"c1:secret").decode()) == "c1"
    assert basic_client_id("Basic !!!") == ""


def test_pages_escape_what_the_request_put_in_them() -> None:
    page = login_page('client_id=c1&state="><script>alert(1)</script>', "<b>no</b>", '"><img src=x>')
    assert "<script>" not in page and "<img" not in page and "<b>no</b>" not in page
    assert "&lt;b&gt;no&lt;/b&gt;" in page
    assert "<script>" not in error_page("<script>", "<script>")
