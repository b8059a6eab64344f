"""The API docs as the local stack serves them: each API's page, document and Swagger UI files from that
API's own origin (http://localhost:<port>/docs), naming this stack's login page and app client; JSON errors
for anything else under /docs; and no CORS opened between the two APIs."""
import json
from typing import Dict
from urllib.parse import urlsplit

import pytest
import requests

from deploy.local import docs
from deploy.project import APP_DIRS, ROOT
from tests.support.stack import StackHandle

pytestmark = pytest.mark.integration


def origins(stack: StackHandle) -> Dict[str, str]:
    """Each app's docs origin: its API on localhost (the page works only there)."""
    return {app: f"http://localhost:{urlsplit(url).port}"
            for app, url in zip(APP_DIRS, (stack.users_url, stack.orders_url), strict=True)}


def auth_port(stack: StackHandle) -> int:
    port = urlsplit(stack.outputs["users"]["CognitoLoginURL"]).port
    assert port
    return port


@pytest.mark.parametrize("app_name", APP_DIRS)
def test_each_api_serves_its_own_docs(stack: StackHandle, local_stack_only: None, app_name: str) -> None:
    origin = origins(stack)[app_name]
    page = requests.get(f"{origin}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "/docs/swagger-ui-bundle.js" in page.text
    assert f"connect-src 'self' http://localhost:{auth_port(stack)};" in page.headers["Content-Security-Policy"]

    document = requests.get(f"{origin}/docs/openapi.json", timeout=30)
    assert document.status_code == 200 and document.headers["Content-Type"] == "application/json"
    generated = json.loads((ROOT / app_name / "openapi.json").read_text())  # committed = generated (test_openapi)
    assert document.json() == docs.served_document(generated, auth_port(stack))

    init = requests.get(f"{origin}/docs/swagger-initializer.js", timeout=10).text
    assert f'"oauth2RedirectUrl": "{origin}/docs/oauth2-redirect.html"' in init
    assert f'"clientId": "{stack.client_id}"' in init and '"usePkceWithAuthorizationCodeGrant": true' in init

    for name, content_type in docs.ASSETS.items():
        asset = requests.get(f"{origin}/docs/{name}", timeout=10)
        assert (asset.status_code, asset.headers["Content-Type"]) == (200, content_type), name
        assert asset.content == (docs.DIST / name).read_bytes()


def test_docs_page_is_served_on_localhost_only(stack: StackHandle, local_stack_only: None) -> None:
    response = requests.get(f"{stack.orders_url}/docs", allow_redirects=False, timeout=10)  # 127.0.0.1
    assert (response.status_code, response.headers["Location"]) == (302, f"{origins(stack)['orders_app']}/docs")


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/docs/nope.js", 404), ("GET", "/docs/index.html", 404), ("GET", "/docs/../../package.json", 404),
    ("GET", "/docs/swagger-initializer.js/x", 404), ("POST", "/docs", 405), ("DELETE", "/docs/openapi.json", 405)])
def test_client_mistakes_under_docs_are_json_errors(stack: StackHandle, local_stack_only: None, method: str,
                                                    path: str, status: int) -> None:
    response = requests.request(method, f"{origins(stack)['orders_app']}{path}", data=b"{}", timeout=10)
    assert (response.status_code, response.headers["Content-Type"]) == (status, "application/json")
    assert set(response.json()) == {"Code", "Message"}


def test_no_cors_between_the_apis(stack: StackHandle, local_stack_only: None) -> None:
    """Each docs page calls only its own API: neither API lets the other's docs origin in (no browser would
    hand a cross-origin answer without Access-Control-Allow-Origin to the page)."""
    users, orders = origins(stack)["users_app"], origins(stack)["orders_app"]
    for origin, target in ((users, orders), (orders, users)):
        for method in ("GET", "OPTIONS"):
            for path in ("/docs/openapi.json", "/orders", "/users"):
                response = requests.request(method, f"{target}{path}", timeout=10, headers={
                    "Origin": origin, "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type"})
                assert "Access-Control-Allow-Origin" not in response.headers, (method, target, path, response.headers)
