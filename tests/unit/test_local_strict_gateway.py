"""The strict local gateway answers what API Gateway answers as deployed where the app has no say:
a method or path the REST API does not declare gets the merge template's MISSING_AUTHENTICATION_TOKEN
gateway response (read from deploy/aws/<app>/template.json), and a Cognito user-pool authorizer takes
the token kind AWS documents (no scopes: an ID token; scopes: an access token carrying one)."""
import json
from pathlib import Path
from typing import Any, Dict

import pytest
from chalice import Chalice, CognitoUserPoolAuthorizer

from chalicelib_shared.jwks import JwksClient
from chalicelib_shared.verifier import CognitoVerifier
from deploy.local.gateway_responses import missing_authentication_token
from deploy.local.strict import StrictTestClient
from deploy.project import APPS
from tests.support import tokens
from tests.support.apps import app_dir, load_app
from tests.support.http import call


def template_answer(app_dir_name: str) -> Dict[str, Any]:
    """MISSING_AUTHENTICATION_TOKEN exactly as the app's merge template configures it."""
    app = next(a for a in APPS if a.dir == app_dir_name)
    configured = json.loads(app.template.read_text())["Resources"]["RestAPI"]["Properties"][
        "GatewayResponses"]["MISSING_AUTHENTICATION_TOKEN"]
    headers = {k: v.strip("'") for k, v in configured.get("ResponseParameters", {}).get("Headers", {}).items()}
    return {"status": configured["StatusCode"], "body": json.loads(configured["ResponseTemplates"]["application/json"]),
            "headers": headers}


def test_the_answer_is_read_from_each_template() -> None:
    for app in APPS:
        expected = template_answer(app.dir)
        got = missing_authentication_token(str(app.path))
        assert (got.status, json.loads(got.body), got.headers) == (expected["status"], expected["body"],
                                                                     expected["headers"])
        assert got.status == 404 and json.loads(got.body)["Code"] == "NotFound"


@pytest.mark.parametrize("app_name, paths", [
    ("users_app", ["/users", "/users/u-1"]),
    ("orders_app", ["/orders", "/orders/o-1", "/orders/o-1/acknowledge"]),
])
def test_undeclared_methods_and_unknown_paths_answer_as_deployed(app_name: str, paths: Any) -> None:
    """Before any token check (API Gateway routes first): with or without a token, TRACE, PATCH, HEAD,
    OPTIONS and BREW on a route without them, and any method on an unknown path."""
    app = load_app(app_name)
    client = StrictTestClient(app.app, tokens.verifier(CognitoVerifier, JwksClient), project_dir=app_dir(app_name))
    expected = template_answer(app_name)
    declared = {(method, path) for path, views in app.app.routes.items() for method in views}
    requests = [(method, path) for path in paths for method in ("TRACE", "PATCH", "HEAD", "OPTIONS", "BREW", "PUT")
                if (method, path.replace("u-1", "{userid}").replace("o-1", "{orderId}")) not in declared]
    requests += [("GET", "/"), ("GET", "/no/such/route"), ("POST", "/orders-x"), ("DELETE", paths[0] + "/a/b/c")]
    for who in (None, tokens.id_token("someone")):
        for method, path in requests:
            response = call(client, method, path, who=who, content_type=None)
            assert response.status_code == expected["status"], (method, path, response.body)
            assert json.loads(response.body) == expected["body"], (method, path)
            for name, value in expected["headers"].items():
                assert response.headers.get(name) == value, (method, path, name)
            assert response.headers["Content-Type"] == "application/json"


def test_a_project_without_a_template_gets_api_gateways_default(tmp_path: Path) -> None:
    app = Chalice(app_name="bare")

    @app.route("/x")
    def x() -> Dict[str, Any]:
        return {}

    client = StrictTestClient(app, project_dir=str(tmp_path))
    response = call(client, "TRACE", "/x")
    assert response.status_code == 403 and json.loads(response.body) == {"message": "Missing Authentication Token"}
    assert call(client, "GET", "/x").status_code == 200


def test_cognito_authorizer_takes_an_id_token_without_scopes_and_an_access_token_with_them(tmp_path: Path) -> None:
    app = Chalice(app_name="scoped")
    pool = CognitoUserPoolAuthorizer("Pool", provider_arns=["arn:aws:cognito-idp:us-east-1:1:userpool/p"])

    @app.route("/plain", authorizer=pool)
    def plain() -> Dict[str, Any]:
        return {"token_use": app.current_request.context["authorizer"]["claims"]["token_use"]}

    @app.route("/scoped", authorizer=pool.with_scopes(["orders/read"]))
    def scoped() -> Dict[str, Any]:
        return {"token_use": app.current_request.context["authorizer"]["claims"]["token_use"]}

    client = StrictTestClient(app, tokens.verifier(CognitoVerifier, JwksClient), project_dir=str(tmp_path))
    id_token = tokens.token(sub="s")
    access = tokens.token(sub="s", token_use="access", scope="orders/read openid")
    unscoped_access = tokens.token(sub="s", token_use="access", scope="aws.cognito.signin.user.admin")
    assert call(client, "GET", "/plain", who=id_token).status_code == 200
    assert call(client, "GET", "/plain", who=access).status_code == 401
    assert json.loads(call(client, "GET", "/scoped", who=access).body) == {"token_use": "access"}
    assert call(client, "GET", "/scoped", who=id_token).status_code == 401
    assert call(client, "GET", "/scoped", who=unscoped_access).status_code == 401
