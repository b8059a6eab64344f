"""The local stack's hosted login page: Cognito's hosted UI and OAuth 2.0 endpoints over moto's Cognito.

    python -m deploy.local.hosted_ui --port 9230 --idp-url http://127.0.0.1:9229 --pool-id us-east-1_...

moto has no hosted UI, so a browser client (the stack's `CognitoLoginURL`, the docs pages' "Authorize")
could not log in against `make dev`. This page, the stack's `auth` component (LOCAL_AUTH_PORT, bound
to 127.0.0.1, named http://localhost:PORT as Cognito allows plain http callbacks only for localhost), is
a WSGI app (`LoginPage`) served by gunicorn (deploy/local/gunicorn_app.py: one worker process, whose
memory holds the codes, with 4 threads) and a thin layer over the running moto server: it reads the app
client from moto (DescribeUserPoolClient), logs the user in with moto (InitiateAuth USER_PASSWORD_AUTH,
REFRESH_TOKEN_AUTH, GetUser), and hands out moto's own tokens, so they carry the pool's issuer and verify
with the keys the APIs use.

    GET  /login, /oauth2/authorize   the sign-in form (authorize redirects to login, as Cognito does)
    POST /login                      302 to redirect_uri?code=...&state=... (a one-time code)
    POST /oauth2/token               authorization_code (with PKCE) and refresh_token grants
    GET|POST /oauth2/userInfo        the user's attributes for an access token from /oauth2/token
    GET  /logout                     302 to a registered logout_uri (or back to /login)
    GET  /error                      the error page (unknown client, unregistered redirect_uri)

Checked as Cognito checks: client_id must name an app client of the pool that allows the code flow;
redirect_uri must be one of its CallbackURLs exactly (else the error page, never a redirect there);
scopes must be among its AllowedOAuthScopes (none asked: all of them; no `openid`: no ID token); PKCE
only with code_challenge_method=S256 (Cognito supports no other method). A code is random, single use
(any redemption consumes it), bound to its client, redirect_uri and challenge, and expires after 5
minutes (LOCAL_AUTH_CODE_TTL_S); codes live in the worker's memory only. Token errors are Cognito's
JSON (`{"error": "invalid_grant"}`, 400); the token and userInfo endpoints answer CORS preflights, as
Cognito's do (a docs page on another port exchanges the code from the browser).

What differs from Cognito: no sign-up, password reset, MFA or federated IdPs; no remembered session
(every authorize shows the form, so /logout only redirects); the access token is moto's, whose `scope`
claim is `aws.cognito.signin.user.admin`, not the scopes asked for.

`register_client` gives the local app client (never a deployed one) the OAuth settings the deployed
client has, plus the docs pages' callback (`docs_redirect_url`); the stack calls it on every start.
"""
import argparse
import base64
import hashlib
import html
import json
import os
import secrets
import sys
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

CODE_TTL_S = 300.0         # Cognito: an authorization code is valid for 5 minutes
MAX_BODY_BYTES = 64 * 1024
OAUTH_FLOWS = ["code"]
OAUTH_SCOPES = ["email", "openid", "profile"]
IDENTITY_PROVIDERS = ["COGNITO"]
WORKSHOP_CALLBACK = "http://localhost"  # the deployed client's only callback (deploy/aws/users/template.json)
BAD_LOGIN = "Incorrect username or password."
INVALID_TOKEN = "Access token is expired, disabled, or deleted, or the user has globally signed out."  # noqa: S105 - a message
TOKEN_HEADERS = "Authorization, Content-Type"  # noqa: S105 - header names


# -- the local app client's URLs -------------------------------------------------------------------
def localhost_origin(port: int) -> str:
    """How the login page and the API docs are addressed: `localhost`, the one host for which Cognito
    allows plain-http callbacks (the servers bind 127.0.0.1)."""
    return f"http://localhost:{port}"


def docs_redirect_url(api_port: int) -> str:
    """Swagger UI's OAuth redirect page of the docs served by the API on `api_port` (registered on the
    local app client as a callback and a sign-out URL)."""
    return f"{localhost_origin(api_port)}/docs/oauth2-redirect.html"


def callback_urls(api_ports: Sequence[int]) -> List[str]:
    return [WORKSHOP_CALLBACK, *(docs_redirect_url(port) for port in api_ports)]


def register_client(idp: Any, pool_id: str, client_id: str, urls: Sequence[str]) -> None:
    """Give the local app client the deployed client's OAuth settings with `urls` as its callback and
    sign-out URLs. Sent as ephemeral (not recorded, deploy/local/moto_server.py): every start redoes it
    with that start's ports. UpdateUserPoolClient resets what it is not given (in AWS; moto merges), so
    the client's other settings are passed on as they are."""
    from deploy.local.moto_server import ephemeral

    current = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    kept = {key: current[key] for key in (
        "ClientName", "RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity", "TokenValidityUnits",
        "ReadAttributes", "WriteAttributes", "ExplicitAuthFlows", "PreventUserExistenceErrors",
        "EnableTokenRevocation", "AuthSessionValidity") if key in current}
    with ephemeral(idp, "UpdateUserPoolClient"):
        idp.update_user_pool_client(
            UserPoolId=pool_id, ClientId=client_id, **kept,
            AllowedOAuthFlows=OAUTH_FLOWS, AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=OAUTH_SCOPES,
            SupportedIdentityProviders=IDENTITY_PROVIDERS, CallbackURLs=list(urls), LogoutURLs=list(urls))


# -- pure parts: errors, PKCE, the code store ------------------------------------------------------
class OAuthError(Exception):
    """An OAuth error code (`invalid_grant`, ...) with an optional description."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error, self.description = error, description

    def body(self) -> Dict[str, str]:
        return {"error": self.error, **({"error_description": self.description} if self.description else {})}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def pkce_matches(challenge: Optional[str], method: Optional[str], verifier: Optional[str]) -> bool:
    """Whether `verifier` answers the code's challenge (no challenge: any verifier, or none, will do)."""
    if not challenge:
        return True
    if not verifier or method != "S256":
        return False
    return secrets.compare_digest(s256(verifier), challenge)


@dataclass
class Grant:
    """What a code stands for: the client, redirect_uri and PKCE challenge it was issued for, and the
    tokens moto issued at the login."""

    client_id: str
    redirect_uri: str
    tokens: Mapping[str, Any]
    code_challenge: Optional[str] = None
    code_challenge_method: Optional[str] = None
    scopes: Tuple[str, ...] = ("openid",)
    expires: float = field(default=0.0)


class CodeStore:
    """One-time authorization codes in memory: random, single use, expiring after `ttl` seconds."""

    def __init__(self, ttl: float = CODE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._grants: Dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            for old in [c for c, g in self._grants.items() if g.expires <= now]:
                del self._grants[old]
            grant.expires = now + self.ttl
            self._grants[code] = grant
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str, verifier: Optional[str]) -> Grant:
        """The grant for `code`, which is consumed whatever the outcome; OAuthError invalid_grant when it
        is unknown, used, expired, or was issued for another client, redirect_uri or challenge."""
        with self._lock:
            grant = self._grants.pop(code, None)
        if grant is None or grant.expires <= self.clock():
            raise OAuthError("invalid_grant")
        if grant.client_id != client_id or grant.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant")
        if not pkce_matches(grant.code_challenge, grant.code_challenge_method, verifier):
            raise OAuthError("invalid_grant")
        return grant


# -- the authorize request -------------------------------------------------------------------------
class ErrorPage(Exception):
    """An authorize or logout request that cannot go back to the client: shown on /error."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error, self.description = error, description


@dataclass(frozen=True)
class Authorize:
    client_id: str
    redirect_uri: str
    state: Optional[str]
    scopes: Tuple[str, ...]
    code_challenge: Optional[str]
    code_challenge_method: Optional[str]


def with_query(url: str, params: Mapping[str, Optional[str]]) -> str:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def check_authorize(params: Mapping[str, str], client: Optional[Mapping[str, Any]]) -> Authorize:
    """Validate an authorize/login request against the app client (None: no such client). ErrorPage for
    a bad client_id or redirect_uri (never redirected to); OAuthError for the rest, which Cognito reports
    to the (registered) redirect_uri as `?error=...&state=...`."""
    client_id = params.get("client_id", "")
    if not client_id or client is None:
        raise ErrorPage("invalid_request", "Client does not exist" if client_id else "client_id is required")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.get("CallbackURLs", []):
        raise ErrorPage("redirect_mismatch")
    response_type = params.get("response_type", "")
    if response_type not in ("code", "token"):
        raise OAuthError("unsupported_response_type")
    if response_type not in client.get("AllowedOAuthFlows", []) or not client.get("AllowedOAuthFlowsUserPoolClient"):
        raise OAuthError("unauthorized_client")
    allowed = client.get("AllowedOAuthScopes", [])
    scopes = tuple(params["scope"].split()) if params.get("scope", "").strip() else tuple(allowed)
    if any(scope not in allowed for scope in scopes):
        raise OAuthError("invalid_scope")
    challenge, method = params.get("code_challenge") or None, params.get("code_challenge_method") or None
    if (challenge is None) != (method is None):
        raise OAuthError("invalid_request", "code_challenge and code_challenge_method go together")
    if method is not None and method != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    return Authorize(client_id, redirect_uri, params.get("state"), scopes, challenge, method)


# -- pages -----------------------------------------------------------------------------------------
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:22rem;margin:4rem auto;color:#222}}
label,input,button{{display:block;width:100%;box-sizing:border-box;margin:.3rem 0}}
input,button{{padding:.5rem;font-size:1rem}} .error{{color:#b00020}} small{{color:#666}}</style>
</head><body>{body}</body></html>
"""


def login_page(query: str, message: str = "", username: str = "") -> str:
    error = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    action = html.escape("/login?" + query, quote=True)
    return PAGE.format(title="Sign in", body=f"""<h1>Sign in</h1>{error}
<form method="post" action="{action}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" value="{html.escape(username, quote=True)}"
 required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" name="signInSubmitButton">Sign in</button>
</form><p><small>Local stack login page (moto's Cognito; no sign-up, MFA or federated sign-in).</small></p>""")


def error_page(error: str, description: str) -> str:
    detail = html.escape(error + (f": {description}" if description else ""))
    return PAGE.format(title="Error", body=f"""<h1>An error was encountered with the requested page.</h1>
<p class="error" role="alert">{detail}</p>""")


# -- moto ------------------------------------------------------------------------------------------
class Cognito:
    """The calls to moto's Cognito this server makes."""

    def __init__(self, idp: Any, pool_id: str) -> None:
        self.idp, self.pool_id = idp, pool_id

    def client(self, client_id: str) -> Optional[Dict[str, Any]]:
        if not client_id:
            return None
        try:
            answer = self.idp.describe_user_pool_client(UserPoolId=self.pool_id, ClientId=client_id)
            return dict(answer["UserPoolClient"])
        except self.idp.exceptions.ResourceNotFoundException:
            return None
        except self.idp.exceptions.InvalidParameterException:
            return None

    def login(self, client_id: str, username: str, password: str) -> Dict[str, Any]:
        """moto's AuthenticationResult, or OAuthError("access_denied", message to show)."""
        exc = self.idp.exceptions
        try:
            answer = self.idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                            AuthParameters={"USERNAME": username, "PASSWORD": password})
        except (exc.NotAuthorizedException, exc.UserNotFoundException, exc.InvalidParameterException):
            raise OAuthError("access_denied", BAD_LOGIN) from None
        except exc.UserNotConfirmedException:
            raise OAuthError("access_denied", "User is not confirmed.") from None
        except exc.PasswordResetRequiredException:
            raise OAuthError("access_denied", "Password reset required for the user.") from None
        if "AuthenticationResult" not in answer:
            raise OAuthError("access_denied", f"This account needs {answer.get('ChallengeName', 'a challenge')}, "
                                              "which the local login page does not support.")
        return dict(answer["AuthenticationResult"])

    def refresh(self, client_id: str, refresh_token: str) -> Dict[str, Any]:
        exc = self.idp.exceptions
        try:
            answer = self.idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                            AuthParameters={"REFRESH_TOKEN": refresh_token})
        except (exc.NotAuthorizedException, exc.UserNotFoundException, exc.InvalidParameterException):
            raise OAuthError("invalid_grant") from None
        return dict(answer["AuthenticationResult"])

    def user_info(self, access_token: str) -> Optional[Dict[str, Any]]:
        exc = self.idp.exceptions
        try:
            user = self.idp.get_user(AccessToken=access_token)
        except (exc.NotAuthorizedException, exc.UserNotFoundException, exc.InvalidParameterException):
            return None
        info: Dict[str, Any] = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        info["username"] = user["Username"]
        return info


# -- the server ------------------------------------------------------------------------------------
class HostedUI:
    """The endpoints' logic (HTTP-free): answers are (status, headers, body)."""

    def __init__(self, cognito: Cognito, codes: CodeStore) -> None:
        self.cognito, self.codes = cognito, codes
        self._issued: Dict[str, float] = {}  # access tokens this server handed out -> their expiry
        self._lock = threading.Lock()

    def _remember(self, tokens: Mapping[str, Any]) -> None:
        with self._lock:
            now = time.time()
            for old in [t for t, exp in self._issued.items() if exp <= now]:
                del self._issued[old]
            self._issued[tokens["AccessToken"]] = now + float(tokens.get("ExpiresIn", 3600))

    def _was_issued(self, access_token: str) -> bool:
        with self._lock:
            return self._issued.get(access_token, 0.0) > time.time()

    def authorize(self, params: Mapping[str, str]) -> Authorize:
        return check_authorize(params, self.cognito.client(params.get("client_id", "")))

    def login(self, request: Authorize, username: str, password: str) -> str:
        """The Location of the redirect back to the client with a fresh code."""
        if not username or not password:
            raise OAuthError("access_denied", BAD_LOGIN)
        tokens = self.cognito.login(request.client_id, username, password)
        code = self.codes.issue(Grant(request.client_id, request.redirect_uri, tokens,
                                      request.code_challenge, request.code_challenge_method, request.scopes))
        return with_query(request.redirect_uri, {"code": code, "state": request.state})

    def token(self, form: Mapping[str, str], basic_client: Optional[str]) -> Dict[str, Any]:
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise OAuthError("invalid_request")
        client_id = basic_client or form.get("client_id", "")
        if not client_id:
            raise OAuthError("invalid_request")
        if basic_client and form.get("client_id") and form["client_id"] != basic_client:
            raise OAuthError("invalid_request")
        client = self.cognito.client(client_id)
        if client is None:
            raise OAuthError("invalid_client")
        if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
            raise OAuthError("unsupported_grant_type")
        if grant_type == "client_credentials":
            raise OAuthError("unauthorized_client")
        if grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise OAuthError("invalid_request")
            tokens = self.cognito.refresh(client_id, form["refresh_token"])
            self._remember(tokens)
            return token_answer(tokens, refresh=False)
        if not form.get("code") or not form.get("redirect_uri"):
            raise OAuthError("invalid_request")
        grant = self.codes.redeem(form["code"], client_id, form["redirect_uri"], form.get("code_verifier"))
        self._remember(grant.tokens)
        return token_answer(grant.tokens, refresh=True, id_token="openid" in grant.scopes)

    def user_info(self, authorization: str) -> Optional[Dict[str, Any]]:
        """The attributes, or None for a token this server did not issue or moto does not accept."""
        token = authorization[len("Bearer "):].strip()
        if not self._was_issued(token):
            return None
        return self.cognito.user_info(token)

    def logout(self, params: Mapping[str, str]) -> str:
        """The Location to send the browser to; ErrorPage for an unknown client or unregistered URL."""
        client = self.cognito.client(params.get("client_id", ""))
        if client is None:
            raise ErrorPage("invalid_request", "Client does not exist" if params.get("client_id")
                            else "client_id is required")
        logout_uri = params.get("logout_uri")
        if logout_uri and logout_uri in client.get("LogoutURLs", []):
            return logout_uri
        if not params.get("redirect_uri"):  # Cognito's answer to an unregistered logout_uri, too
            raise ErrorPage("invalid_request", "Required String parameter 'redirect_uri' is not present")
        check_authorize(params, client)  # ErrorPage, or OAuthError reported back to the redirect_uri
        return "/login?" + urllib.parse.urlencode(params)


def token_answer(tokens: Mapping[str, Any], refresh: bool, id_token: bool = True) -> Dict[str, Any]:
    """The token endpoint's JSON. As in Cognito, a code grant gives an ID token only when the authorize
    request's scopes included `openid` (Swagger UI's `x-tokenName: id_token` needs it asked for)."""
    answer: Dict[str, Any] = {"access_token": tokens["AccessToken"],
                              "expires_in": int(tokens.get("ExpiresIn", 3600)), "token_type": "Bearer"}
    if id_token:
        answer["id_token"] = tokens["IdToken"]
    if refresh and tokens.get("RefreshToken"):
        answer["refresh_token"] = tokens["RefreshToken"]
    return answer


def basic_client_id(header: str) -> Optional[str]:
    """The client id of an `Authorization: Basic` header ("" when it cannot be read), None without one."""
    if not header.lower().startswith("basic "):
        return None
    try:
        return base64.b64decode(header[6:].strip(), validate=True).decode().split(":", 1)[0]
    except (ValueError, UnicodeDecodeError):
        return ""


Answer = Tuple[int, Dict[str, str], bytes]


class Request:
    """What the endpoints read of one request (a WSGI environ)."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self.environ = environ
        self.method = str(environ["REQUEST_METHOD"])
        self.path = str(environ.get("PATH_INFO") or "/")
        self.query_string = str(environ.get("QUERY_STRING") or "")

    def header(self, name: str) -> str:
        key = name.upper().replace("-", "_")
        return str(self.environ.get(key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key) or "")

    def query(self) -> Dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.query_string).items()}

    def form(self) -> Optional[Dict[str, str]]:
        """The url-encoded body (None when it is not one, or too large)."""
        length = self.header("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return None
        raw = self.environ["wsgi.input"].read(int(length)) if int(length) else b""
        if not self.header("Content-Type").lower().startswith("application/x-www-form-urlencoded"):
            return None
        fields = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in fields.items()}


class LoginPage:
    """The login page's HTTP layer, a WSGI app: routes, forms, redirects and CORS over `HostedUI`."""

    def __init__(self, ui: HostedUI) -> None:
        self.ui = ui

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        request = Request(environ)
        try:
            status, headers, body = self.dispatch(request)
        except Exception:  # noqa: BLE001 - our bug or moto down: a 500 with the shape, the traceback to the log
            traceback.print_exc()
            status, headers, body = self._json(request, 500, {"error": "server_error"})
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [*headers.items(), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
        return [body]

    def dispatch(self, request: Request) -> Answer:
        get = {"/login": self._get_login, "/oauth2/authorize": self._get_authorize, "/oauth2/userInfo": self._user_info,
               "/logout": self._logout, "/error": self._get_error, "/": lambda r: self._redirect("/login")}
        routes: Dict[str, Dict[str, Callable[[Request], Answer]]] = {
            "GET": get, "HEAD": get,
            "POST": {"/login": self._post_login, "/oauth2/token": self._token, "/oauth2/userInfo": self._user_info},
            "OPTIONS": {"/oauth2/token": lambda r: self._preflight(r, "POST, OPTIONS"),
                        "/oauth2/userInfo": lambda r: self._preflight(r, "GET, POST, OPTIONS")},
        }
        route = routes.get(request.method, {}).get(request.path)
        if route is None:
            known = request.path in ("/login", "/oauth2/authorize", "/oauth2/token", "/oauth2/userInfo", "/logout",
                                     "/error")
            return self._json(request, 405 if known else 404, {"error": "invalid_request"})
        return route(request)

    # -- answers -----------------------------------------------------------------------------------
    def _json(self, request: Request, status: int, data: Any, headers: Optional[Mapping[str, str]] = None) -> Answer:
        return status, {"Content-Type": "application/json;charset=UTF-8", **self._cors(request), **(headers or {})}, \
            json.dumps(data).encode()

    def _html(self, status: int, page: str) -> Answer:
        return status, {"Content-Type": "text/html;charset=UTF-8", "X-Frame-Options": "DENY",
                        # no form-action: browsers apply it to the redirect after the form, to the client's URL
                        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}, page.encode()

    def _redirect(self, location: str) -> Answer:
        return 302, {"Content-Type": "text/plain", "Location": location}, b""

    def _error_page(self, error: ErrorPage) -> Answer:
        return self._redirect(with_query("/error", {"error": error.error,
                                                    "error_description": error.description or None}))

    def _cors(self, request: Request) -> Dict[str, str]:
        """CORS for the token and userInfo endpoints, which browser apps on any origin call."""
        if request.path not in ("/oauth2/token", "/oauth2/userInfo"):
            return {}
        origin = request.header("Origin")
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}

    # -- endpoints ---------------------------------------------------------------------------------
    def _preflight(self, request: Request, methods: str) -> Answer:
        asked = request.header("Access-Control-Request-Headers")
        return 204, {"Content-Type": "text/plain", **self._cors(request), "Access-Control-Allow-Methods": methods,
                     "Access-Control-Allow-Headers": asked or TOKEN_HEADERS, "Access-Control-Max-Age": "600"}, b""

    def _checked(self, params: Mapping[str, str]) -> Union[Authorize, Answer]:
        """The authorize request, or the answer to its error (the error page or a redirect back)."""
        try:
            return self.ui.authorize(params)
        except ErrorPage as exc:
            return self._error_page(exc)
        except OAuthError as exc:
            return self._back(params, exc)

    def _back(self, params: Mapping[str, str], exc: OAuthError) -> Answer:
        """An OAuth error reported to the client's (registered) redirect_uri, as Cognito does."""
        return self._redirect(with_query(params["redirect_uri"], {**exc.body(), "state": params.get("state")}))

    def _get_authorize(self, request: Request) -> Answer:
        params = request.query()
        checked = self._checked(params)
        return checked if not isinstance(checked, Authorize) else \
            self._redirect("/login?" + urllib.parse.urlencode(params))

    def _get_login(self, request: Request) -> Answer:
        checked = self._checked(request.query())
        return checked if not isinstance(checked, Authorize) else self._html(200, login_page(request.query_string))

    def _post_login(self, request: Request) -> Answer:
        form = request.form() or {}
        checked = self._checked(request.query())
        if not isinstance(checked, Authorize):
            return checked
        username = form.get("username", "").strip()
        try:
            return self._redirect(self.ui.login(checked, username, form.get("password", "")))
        except OAuthError as exc:
            return self._html(400, login_page(request.query_string, exc.description, username))

    def _token(self, request: Request) -> Answer:
        form = request.form()
        try:
            if form is None:
                raise OAuthError("invalid_request")
            basic = basic_client_id(request.header("Authorization"))
            if basic == "":
                raise OAuthError("invalid_client")
            answer = self.ui.token(form, basic)
        except OAuthError as exc:
            return self._json(request, 400, exc.body())
        return self._json(request, 200, answer, {"Pragma": "no-cache"})

    def _user_info(self, request: Request) -> Answer:
        authorization = request.header("Authorization")
        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            return self._json(request, 400, {"error": "invalid_request"},
                              {"WWW-Authenticate": 'error="invalid_request", error_description="Bad OAuth2 request '
                                                   'at UserInfo Endpoint"'})
        info = self.ui.user_info(authorization)
        if info is None:
            return self._json(request, 401, {"error": "invalid_token", "error_description": INVALID_TOKEN},
                              {"WWW-Authenticate": f'error="invalid_token", error_description="{INVALID_TOKEN}"'})
        return self._json(request, 200, info)

    def _logout(self, request: Request) -> Answer:
        params = request.query()
        try:
            return self._redirect(self.ui.logout(params))
        except ErrorPage as exc:
            return self._error_page(exc)
        except OAuthError as exc:
            return self._back(params, exc)

    def _get_error(self, request: Request) -> Answer:
        params = request.query()
        return self._html(400, error_page(params.get("error", "invalid_request"), params.get("error_description", "")))


def code_ttl() -> float:
    """LOCAL_AUTH_CODE_TTL_S (seconds, default Cognito's 300): tests shorten it to see a code expire."""
    value = os.environ.get("LOCAL_AUTH_CODE_TTL_S", "").strip()
    try:
        ttl = float(value) if value else CODE_TTL_S
    except ValueError:
        ttl = -1.0
    if not ttl > 0:
        raise SystemExit(f"LOCAL_AUTH_CODE_TTL_S={value!r}: set it to a number of seconds above 0")
    return ttl


def login_app(idp_url: str, pool_id: str, ttl: float = CODE_TTL_S) -> LoginPage:
    from deploy.local import cognito

    return LoginPage(HostedUI(Cognito(cognito.idp_client(idp_url), pool_id), CodeStore(ttl)))


def main(argv: Optional[List[str]] = None) -> int:
    """Serve the page with gunicorn (deploy/local/gunicorn_app.py): one worker process, since the codes
    live in its memory, with threads for concurrent browsers, as the stack's `auth` component."""
    from deploy.local.gunicorn_app import serve

    parser = argparse.ArgumentParser(description="The local stack's hosted login page (over moto's Cognito).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idp-url", required=True, help="the moto server, e.g. http://127.0.0.1:9229")
    parser.add_argument("--pool-id", required=True)
    args = parser.parse_args(argv)
    ttl = code_ttl()
    print(f"hosted login page on {localhost_origin(args.port)} (moto {args.idp_url}, pool {args.pool_id})", flush=True)
    return serve("hosted-ui", args.port, lambda: login_app(args.idp_url, args.pool_id, ttl), {
        "workers": 1, "worker_class": "gthread", "threads": 4, "keepalive": 0, "timeout": 30, "graceful_timeout": 5,
        "access_log_format": "%(t)s %(m)s %(U)s %(s)s",  # never the query: it holds codes
    })


if __name__ == "__main__":
    sys.exit(main())
