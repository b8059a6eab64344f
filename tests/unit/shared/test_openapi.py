"""The committed OpenAPI documents are generated from the apps' routes and request models."""
import json
import subprocess
import sys

from deploy.project import ROOT


def test_committed_openapi_documents_match_the_code() -> None:
    result = subprocess.run([sys.executable, "deploy/codegen/openapi.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_documents_list_every_route_with_json_errors() -> None:
    expected = {
        "users_app": {("get", "/users"), ("post", "/users"), ("get", "/users/{userid}"),
                      ("put", "/users/{userid}"), ("delete", "/users/{userid}")},
        "orders_app": {("post", "/orders"), ("get", "/orders"), ("get", "/orders/{orderId}"),
                       ("put", "/orders/{orderId}"), ("delete", "/orders/{orderId}"),
                       ("post", "/orders/{orderId}/acknowledge")},
    }
    for app_name, routes in expected.items():
        document = json.loads((ROOT / app_name / "openapi.json").read_text())
        assert document["openapi"].startswith("3.")
        found = {(method, path) for path, ops in document["paths"].items() for method in ops}
        assert found == routes
        for path, ops in document["paths"].items():
            for method, op in ops.items():
                assert "401" in op["responses"], (path, method)
                if method in ("post", "put"):
                    body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                    schema = document["components"]["schemas"][body.rsplit("/", 1)[1]]
                    assert schema["additionalProperties"] is False


def test_the_documents_declare_nullable_exactly_the_fields_the_models_take_null_for() -> None:
    """Users: `email` (null = no email); orders: none. A property the document does not mark
    `nullable` refuses `null` (400 naming it), tested on each app's routes."""
    expected = {"users_app": {"CreateUser": {"email"}, "UpdateUser": {"email"}},
                "orders_app": {"NewOrder": set(), "OrderEdit": set(), "Acknowledge": set()}}
    for app_name, bodies in expected.items():
        schemas = json.loads((ROOT / app_name / "openapi.json").read_text())["components"]["schemas"]
        for body, nullable in bodies.items():
            found = {name for name, schema in schemas[body]["properties"].items() if schema.get("nullable")}
            assert found == nullable, (app_name, body)


def test_no_body_field_promises_a_format_the_models_do_not_check() -> None:
    """A `format` in a request body is a rule for outside tools (schemathesis refuses data that breaks it);
    the models check patterns, not formats, so no request body declares one."""
    for app_name in ("users_app", "orders_app"):
        document = json.loads((ROOT / app_name / "openapi.json").read_text())
        for ops in document["paths"].values():
            for op in ops.values():
                if "requestBody" in op:
                    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                    assert '"format"' not in json.dumps(document["components"]["schemas"][ref]), (app_name, ref)
