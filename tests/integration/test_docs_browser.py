"""The orders API docs in headless Chromium: the page loads from the API's own origin with nothing from
elsewhere, "Authorize" logs in through the local login page (authorization code + PKCE, the popup
closing through the docs' redirect page), "Try it out" creates an order with the ID token, and after
Swagger UI's logout (and the login page's /logout) "Try it out" sends no token and gets a 401. The
users docs page renders its routes from its own origin too.

Needs Debian's `chromium` (.ci/run installs it) and playwright-core (`make deps`); skipped, saying
which is missing, only where neither can be had. Screenshots go to a temporary directory (the path is
in the test's output: run pytest with -s)."""
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import browser
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_docs_page_logs_in_creates_an_order_and_logs_out(stack: StackHandle, local_stack_only: None,
                                                         tmp_path: Path) -> None:
    why = browser.missing()
    if why:
        pytest.skip(why)
    user = stack.new_user()
    order_id = str(uuid.uuid4())
    orders_port = urlsplit(stack.orders_url).port
    auth = urlsplit(stack.outputs["users"]["CognitoLoginURL"])
    started = time.monotonic()
    result = browser.docs_flow({
        "docsUrl": f"http://localhost:{orders_port}/docs", "authUrl": f"{auth.scheme}://{auth.netloc}",
        "clientId": stack.client_id, "username": user.email, "password": user.password, "orderId": order_id,
        "screenshotDir": str(tmp_path), "steps": "full"})
    print(f"\ndocs browser flow: {time.monotonic() - started:.1f}s (browser {result.get('seconds')}s), "
          f"screenshots in {tmp_path}")
    assert result["ok"], f"{result.get('error')}: {json.dumps(result, indent=1)}"
    assert result["foreignRequests"] == [] and result["pageErrors"] == []
    assert "POST /orders Place an order (idempotent per caller and orderId)." in result["operations"]
    assert result["clientIdShown"] == stack.client_id
    assert result["tokenRequest"]["grant_type"] == "authorization_code" and result["tokenRequest"]["code_verifier"]

    created = result["create"]
    assert (created["status"], created["shownStatus"], created["sentIdToken"]) == (200, "200", True), created
    assert created["body"]["orderId"] == order_id and created["body"]["status"] == "PLACED"
    assert created["body"]["userId"] == user.sub
    assert result["hostedLogout"]["status"] == 302
    assert result["hostedLogout"]["location"] == result["hostedLogout"]["logoutUri"]

    after = result["listWithoutToken"]
    assert (after["status"], after["shownStatus"], after["authorization"]) == (401, "401", None), after
    assert Path(result["screenshot"]).stat().st_size > 10_000


def test_users_docs_page_renders_from_its_own_origin(stack: StackHandle, local_stack_only: None,
                                                     tmp_path: Path) -> None:
    why = browser.missing()
    if why:
        pytest.skip(why)
    auth = urlsplit(stack.outputs["users"]["CognitoLoginURL"])
    result = browser.docs_flow({
        "docsUrl": f"http://localhost:{urlsplit(stack.users_url).port}/docs", "authUrl": f"{auth.scheme}://{auth.netloc}",
        "screenshotDir": str(tmp_path), "steps": "page", "list": {"operationId": "list_users", "path": "/users"}})
    assert result["ok"], f"{result.get('error')}: {json.dumps(result, indent=1)}"
    assert result["foreignRequests"] == [] and result["pageErrors"] == []
    assert result["title"] == "Users API (local) - API docs"
    assert [op.split(" ", 2)[:2] for op in result["operations"]] == [
        ["GET", "/users"], ["POST", "/users"], ["DELETE", "/users/{userid}"], ["GET", "/users/{userid}"],
        ["PUT", "/users/{userid}"]]
    assert (result["listWithoutToken"]["status"], result["listWithoutToken"]["authorization"]) == (401, None)
