"""The local API docs (deploy/local/docs.py): the document as the page serves it, the page and its
settings, Swagger UI's files from swagger-ui-dist and nothing else, JSON errors for everything a
client can get wrong; and none of it in the deployed apps."""
import json
import re
from pathlib import Path
from typing import Any, Dict

import pytest
from openapi_spec_validator import validate  # moto[server]'s dependency, pinned with it

from deploy.local import docs
from deploy.local.hosted_ui import callback_urls
from deploy.local.stack import Stack, StackConfig, docs_lines
from deploy.project import APP_DIRS, ROOT

API_PORT, AUTH_PORT = 3002, 9230


def committed(app_name: str) -> Dict[str, Any]:
    return json.loads((ROOT / app_name / "openapi.json").read_text())


def pages(build: Any = None, app_name: str = "orders_app") -> docs.DocsPages:
    return docs.DocsPages(app_name, API_PORT, AUTH_PORT, "client123", build or (lambda: committed(app_name)))


def get(path: str, host: str = f"localhost:{API_PORT}", method: str = "GET", build: Any = None) -> Any:
    return pages(build).respond(method, path, {"Host": host})


@pytest.mark.parametrize("app_name", APP_DIRS)
def test_served_document_is_valid_calls_its_own_origin_and_logs_in_with_the_id_token(app_name: str) -> None:
    original = committed(app_name)
    served = docs.served_document(original, AUTH_PORT)
    validate(served)
    assert served["servers"][0]["url"] == "/"
    assert served["components"]["securitySchemes"] == {"CognitoLogin": {
        "type": "oauth2", "x-tokenName": "id_token", "description": served["components"]["securitySchemes"][
            "CognitoLogin"]["description"],
        "flows": {"authorizationCode": {
            "authorizationUrl": "http://localhost:9230/oauth2/authorize", "tokenUrl": "http://localhost:9230/oauth2/token",
            "scopes": {"openid": "your identity", "email": "your email address", "profile": "your profile"}}}}}
    operations = [op for ops in served["paths"].values() for op in ops.values()]
    assert operations and all(op["security"] == [{"CognitoLogin": ["openid", "email", "profile"]}] for op in operations)
    assert original == committed(app_name)  # the generated document itself is left alone
    # everything else is the generated document as it is
    for document in (original, served):
        document.pop("servers", None)
        document["components"].pop("securitySchemes")
        for ops in document["paths"].values():
            for op in ops.values():
                op.pop("security")
    assert served == original


def test_page_loads_only_files_of_its_own_origin() -> None:
    status, headers, body = get("/docs")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    html = body.decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/docs/") for ref in refs), refs
    assert "http" not in html and "<script>" not in html  # no inline script: the CSP allows none
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self' http://localhost:9230;" in csp
    assert get("/docs/")[0] == 200


def test_page_redirects_to_localhost() -> None:
    """The login page accepts plain-http callbacks on localhost only, and the popup's redirect page
    must share the opener's origin: 127.0.0.1 would break the login."""
    for host in ("127.0.0.1:3002", "", "example.com"):
        status, headers, _ = get("/docs?x=1", host=host)
        assert (status, headers["Location"]) == (302, "http://localhost:3002/docs")


def test_initializer_sets_the_redirect_the_login_page_registers_and_pkce() -> None:
    status, headers, body = get("/docs/swagger-initializer.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    calls = dict(re.findall(rb"(SwaggerUIBundle|initOAuth)\((\{.*?\})\);", body))
    settings, oauth = json.loads(calls[b"SwaggerUIBundle"]), json.loads(calls[b"initOAuth"])
    assert settings["url"] == "/docs/openapi.json" and settings["validatorUrl"] is None
    assert settings["oauth2RedirectUrl"] == "http://localhost:3002/docs/oauth2-redirect.html"
    assert settings["oauth2RedirectUrl"] in callback_urls([API_PORT])
    assert oauth == {"clientId": "client123", "usePkceWithAuthorizationCodeGrant": True,
                     "scopes": ["openid", "email", "profile"]}


def test_document_is_built_once() -> None:
    built = []
    docs_pages = pages(lambda: built.append(1) or committed("orders_app"))
    for _ in range(3):
        status, headers, body = docs_pages.respond("GET", "/docs/openapi.json?v=2", {})
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["servers"] == [{"url": "/", "description": "this local API (the page's own origin)"}]
    assert built == [1]


def test_a_document_that_cannot_be_built_is_a_json_500() -> None:
    def broken() -> Dict[str, Any]:
        raise SystemExit("orders_app: routes and OpenAPI description differ")
    status, headers, body = get("/docs/openapi.json", build=broken)
    assert (status, headers["Content-Type"]) == (500, "application/json")
    assert json.loads(body)["Code"] == "DocsUnavailable" and "differ" in json.loads(body)["Message"]


@pytest.mark.parametrize("name", sorted(docs.ASSETS))
def test_swagger_ui_files_come_from_swagger_ui_dist(name: str) -> None:
    status, headers, body = get(f"/docs/{name}")
    assert (status, headers["Content-Type"]) == (200, docs.ASSETS[name])
    assert body == (docs.DIST / name).read_bytes()
    assert json.loads((docs.DIST / "package.json").read_text())["version"] == "5.35.0"


def test_nothing_the_page_loads_names_a_cdn() -> None:
    for path in ["/docs", "/docs/swagger-initializer.js", "/docs/oauth2-redirect.html", "/docs/swagger-ui.css"]:
        text = get(path)[2].decode()
        assert not re.search(r"unpkg|jsdelivr|cdnjs|cdn\.|googleapis|validator\.swagger\.io", text), path
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path


@pytest.mark.parametrize("path", ["/docs/nope.js", "/docs/index.html", "/docs/package.json",
                                  "/docs/../package.json", "/docs/%2e%2e/package.json", "/docs/swagger-ui.js.map",
                                  "/docs/sub/swagger-ui.css", "/docs/swagger-ui.css/"])
def test_anything_else_under_docs_is_a_json_404(path: str) -> None:
    status, headers, body = get(path)
    assert (status, headers["Content-Type"]) == (404, "application/json")
    assert json.loads(body)["Code"] == "NotFound"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_docs_are_read_only(method: str) -> None:
    status, _, body = get("/docs", method=method)
    assert status == 405 and json.loads(body)["Code"] == "MethodNotAllowed"


def test_missing_swagger_ui_says_to_install_it(tmp_path: Path) -> None:
    docs_pages = docs.DocsPages("orders_app", API_PORT, AUTH_PORT, "c", lambda: {}, dist=tmp_path)
    status, _, body = docs_pages.respond("GET", "/docs/swagger-ui.css", {})
    assert status == 500 and "make deps" in json.loads(body)["Message"]


def test_only_the_two_apps_have_docs() -> None:
    assert docs.DocsPages.for_app("some/test_app", 1, 2, "c") is None
    assert all(docs.DocsPages.for_app(app, 1, 2, "c") is not None for app in APP_DIRS)
    assert docs.is_docs_path("/docs?x") and docs.is_docs_path("/docs/a") and not docs.is_docs_path("/docsx")


@pytest.mark.parametrize("app_name", APP_DIRS)
def test_deployed_apps_have_no_docs(app_name: str) -> None:
    """The docs are the local gateway's: no app route, no app file names them (tests/deploy checks the zip)."""
    sources = [p for p in (ROOT / app_name).rglob("*.py") if "__pycache__" not in p.parts]
    assert sources
    assert [str(p) for p in sources if re.search(r"swagger|/docs\b|deploy\.local", p.read_text())] == []
    assert not any(path.startswith("/docs") for path in committed(app_name)["paths"])


def test_banner_names_both_docs_pages_on_localhost() -> None:
    ports = {"dynamodb": 1, "cognito": 2, "users_app": 3001, "orders_app": 3002, "auth": 9230}
    lines = docs_lines(Stack(StackConfig(ports=ports)))
    assert [line.split()[:3] for line in lines] == [["users", "docs", "http://localhost:3001/docs"],
                                                    ["orders", "docs", "http://localhost:3002/docs"]]
