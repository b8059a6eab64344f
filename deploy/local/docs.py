"""Interactive API docs for the local stack: Swagger UI for each API, served by that API's own local
gateway (deploy/local/server.py) from its own origin. Local only: nothing here ships in a Lambda app.

    GET /docs                          the Swagger UI page (open it at http://localhost:<port>/docs)
    GET /docs/openapi.json             the app's generated OpenAPI document (deploy/codegen/openapi.py),
                                       with a relative server url (Try it out calls the page's origin)
                                       and the local login page as an OAuth2 authorization code flow
    GET /docs/swagger-initializer.js   Swagger UI's settings (redirect URL, app client id, PKCE)
    GET /docs/<asset>                  Swagger UI's own files, from the npm package swagger-ui-dist
                                       (deploy/local/node_modules), nothing from a CDN

The page must be opened on `localhost`, not 127.0.0.1: Cognito (and the local login page) allows
plain-http callback URLs only for localhost, and the redirect page must share the opener's origin.
A request for the page on any other host name is redirected to localhost.

"Authorize" sends the browser to the local login page (`/oauth2/authorize` on the auth port) with
PKCE; the popup comes back to /docs/oauth2-redirect.html, and Swagger UI swaps the code for tokens
at `/oauth2/token` (a cross-origin request the login page answers with CORS). The APIs expect the
ID token, so the scheme says `x-tokenName: id_token` (Swagger UI would send the access token).
The API's own CORS is left as it is: the page calls only its own origin.
"""
import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import urlsplit

from deploy.local.hosted_ui import docs_redirect_url, localhost_origin
from deploy.project import APP_DIRS, ROOT

DIST = ROOT / "deploy" / "local" / "node_modules" / "swagger-ui-dist"
SCHEME = "CognitoLogin"
SCOPES = ("openid", "email", "profile")
ASSETS = {  # the files of swagger-ui-dist the page uses, and their types; anything else is a 404
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "oauth2-redirect.html": "text/html; charset=utf-8",
    "oauth2-redirect.js": "text/javascript; charset=utf-8",
    "favicon-16x16.png": "image/png",
    "favicon-32x32.png": "image/png",
}
TITLES = {"users_app": "Users API", "orders_app": "Orders API"}

Response = Tuple[int, Dict[str, str], bytes]


def is_docs_path(path: str) -> bool:
    route = urlsplit(path).path
    return route == "/docs" or route.startswith("/docs/")


def served_document(document: Dict[str, Any], auth_port: int) -> Dict[str, Any]:
    """The generated document as the docs page needs it: a relative server url (so "Try it out" calls
    the origin the page came from) and, as every operation's security, the local login page's
    authorization code flow handing over the ID token."""
    served = copy.deepcopy(document)
    served["servers"] = [{"url": "/", "description": "this local API (the page's own origin)"}]
    auth = localhost_origin(auth_port)
    served.setdefault("components", {})["securitySchemes"] = {SCHEME: {
        "type": "oauth2",
        "description": "Log in on the local stack's hosted login page; the API receives your Cognito ID token.",
        "x-tokenName": "id_token",
        "flows": {"authorizationCode": {
            "authorizationUrl": f"{auth}/oauth2/authorize",
            "tokenUrl": f"{auth}/oauth2/token",
            "scopes": {"openid": "your identity", "email": "your email address", "profile": "your profile"},
        }},
    }}
    for operations in served.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "security" in operation:
                operation["security"] = [{SCHEME: list(SCOPES)}]
    return served


def page(title: str) -> bytes:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} (local) - API docs</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
""".encode()


def initializer(api_port: int, client_id: str) -> bytes:
    settings = {"url": "/docs/openapi.json", "dom_id": "#swagger-ui", "deepLinking": True,
                "validatorUrl": None,  # Swagger UI's default would send the document to validator.swagger.io
                "oauth2RedirectUrl": docs_redirect_url(api_port)}  # the callback the login page registers
    oauth = {"clientId": client_id, "usePkceWithAuthorizationCodeGrant": True, "scopes": list(SCOPES)}
    return (f"window.ui = SwaggerUIBundle({json.dumps(settings)});\n"
            f"window.ui.initOAuth({json.dumps(oauth)});\n").encode()


def content_security_policy(auth_port: int) -> str:
    """Only this origin's files; the one cross-origin call is the token exchange at the login page."""
    return ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"connect-src 'self' {localhost_origin(auth_port)}; frame-ancestors 'none'; base-uri 'none'")


def _error(status: int, code: str, message: str) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps({"Code": code, "Message": message}).encode()


class DocsPages:
    """The docs of one app, as its gateway serves them. `build_document` makes the app's OpenAPI
    document (called once, on the first request for it: the worker has the app imported)."""

    def __init__(self, app_name: str, api_port: int, auth_port: int, client_id: str,
                 build_document: Callable[[], Dict[str, Any]], dist: Path = DIST) -> None:
        self.app_name, self.api_port, self.auth_port, self.client_id = app_name, api_port, auth_port, client_id
        self.build_document, self.dist = build_document, dist
        self._document: Optional[bytes] = None

    @classmethod
    def for_app(cls, app_name: str, api_port: int, auth_port: int, client_id: str) -> Optional["DocsPages"]:
        """Docs for users_app / orders_app (built in this process, where the app is imported); None for
        any other app (a test's own), which has no generated document."""
        if app_name not in APP_DIRS:  # the apps deploy/codegen/openapi.py describes
            return None

        def build() -> Dict[str, Any]:
            from deploy.codegen import openapi
            return openapi.build(app_name)
        return cls(app_name, api_port, auth_port, client_id, build)

    def document(self) -> bytes:
        if self._document is None:
            served = served_document(self.build_document(), self.auth_port)
            self._document = (json.dumps(served, indent=2) + "\n").encode()
        return self._document

    def respond(self, method: str, path: str, headers: Dict[str, str]) -> Response:
        """The answer to a request under /docs: (status, headers, body)."""
        if method not in ("GET", "HEAD"):
            return _error(405, "MethodNotAllowed", f"Method {method} is not allowed on the API docs")
        route = urlsplit(path).path
        if route in ("/docs", "/docs/"):
            host = {k.lower(): v for k, v in headers.items()}.get("host", "")
            if urlsplit(f"//{host}").hostname != "localhost":
                return 302, {"Location": f"{localhost_origin(self.api_port)}/docs", "Content-Type": "text/plain"}, \
                    b"The API docs work on localhost only.\n"
            return self._ok("text/html; charset=utf-8", page(TITLES.get(self.app_name, self.app_name)))
        if route == "/docs/openapi.json":
            try:
                body = self.document()
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - e.g. a route the generator does not describe
                return _error(500, "DocsUnavailable", f"the OpenAPI document cannot be built: {exc}")
            return self._ok("application/json", body)
        if route == "/docs/swagger-initializer.js":
            return self._ok("text/javascript; charset=utf-8", initializer(self.api_port, self.client_id))
        name = route[len("/docs/"):]
        if name in ASSETS:
            try:
                return self._ok(ASSETS[name], (self.dist / name).read_bytes())
            except OSError:
                return _error(500, "DocsUnavailable", f"Swagger UI is not installed ({self.dist}): run `make deps`")
        return _error(404, "NotFound", f"No such API docs file: {route}")

    def _ok(self, content_type: str, body: bytes) -> Response:
        return 200, {"Content-Type": content_type, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                     "Content-Security-Policy": content_security_policy(self.auth_port)}, body
