"""Generate each service's OpenAPI 3 document from the app's routes, request models and output documents.

    python deploy/codegen/openapi.py           # write users_app/openapi.json and orders_app/openapi.json
    python deploy/codegen/openapi.py --check   # exit 1 if a committed document differs from the code

Request bodies come from the same `chalicelib.shared.schema` models that validate requests
(models.py), response bodies from the declarations the services render with (render.py: USER,
ORDER, ...), list limits from models.py and the token bound from the shared pagination module:
nothing here restates a field, an enum or a pattern. A component schema found inside another
schema becomes a `$ref` to it. The route list comes from the Chalice app itself, and every route
must be described in `_users` / `_orders` below (a route added to an app but not here fails the
generator, and so `make test`). Each app is imported in its own subprocess (both have `app` and
`chalicelib` modules).
"""
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from deploy.project import APP_DIRS as APPS  # runs as a script from the repo
from deploy.project import ROOT, stage_env

ERRORS = {
    400: "Invalid input: bad JSON, a field breaking a rule (`Fields` names each), or a business rule "
         "(e.g. `OrderNotPlaced`, `CancelWindowExpired`, `InvalidNextToken`).",
    401: "Missing, malformed, forged or expired token.",
    403: "A valid token that may not call this route.",
    404: "No such resource (or not the caller's).",
    409: "Conflict: the resource exists, or an idempotent create is in flight / reused with another body.",
    413: "The body is larger than 64 KiB.",
    415: "Content-Type is not application/json.",
    503: "A dependency (DynamoDB, signing keys) is throttling or unreachable; retry after `Retry-After`.",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["Code", "Message"],
    "properties": {
        "Code": {"type": "string", "description": "Machine-readable error code."},
        "Message": {"type": "string", "description": "Human-readable explanation."},
        "Fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "For validation errors: each offending field and why."},
    },
}
def _page_params(models: Any, pagination: Any) -> List[Dict[str, Any]]:
    """`?limit=` (1..LIST_MAX_LIMIT, default LIST_DEFAULT_LIMIT: the app's models.py) and `?nextToken=`."""
    return [{"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": models.LIST_MAX_LIMIT,
                        "default": models.LIST_DEFAULT_LIMIT}},
            {"name": "nextToken", "in": "query", "required": False,
             "schema": {"type": "string", "minLength": 1, "maxLength": pagination.MAX_TOKEN_LENGTH},
             "description": "Opaque token from the previous page."}]


def _users(models: Any, render: Any, pagination: Any) -> Dict[str, Any]:
    userid = {"name": "userid", "in": "path", "required": True, "schema": models.USERID.json_schema()}
    return {
        "title": "Users service",
        "schemas": {"User": render.USER.json_schema(), "CreateUser": models.CREATE_USER.json_schema(),
                    "UpdateUser": models.UPDATE_USER.json_schema()},
        "routes": {
            ("GET", "/users"): dict(summary="List users (admins).", params=_page_params(models, pagination),
                                    ok=render.USERS.json_schema(),
                                    ok_headers=["Link", "X-Next-Token"], errors=[400, 401, 403, 503]),
            ("POST", "/users"): dict(summary="Create a user profile (admins).", body="CreateUser", ok="User",
                                     errors=[400, 401, 403, 409, 413, 415, 503]),
            ("GET", "/users/{userid}"): dict(summary="Read a user (owner or admin).", params=[userid], ok="User",
                                             errors=[400, 401, 403, 404, 503]),
            ("PUT", "/users/{userid}"): dict(summary="Create or update a user's name and email (owner or admin).",
                                             params=[userid], body="UpdateUser", ok="User",
                                             errors=[400, 401, 403, 413, 415, 503]),
            ("DELETE", "/users/{userid}"): dict(summary="Delete a user (owner or admin).", params=[userid],
                                                ok={"type": "object", "additionalProperties": False},
                                                errors=[400, 401, 403, 404, 503]),
        },
    }


def _orders(models: Any, render: Any, pagination: Any) -> Dict[str, Any]:
    order_id = {"name": "orderId", "in": "path", "required": True, "schema": models.ORDER_ID.json_schema()}
    return {
        "title": "Orders service",
        "schemas": {"Order": render.ORDER.json_schema(), "OrderList": render.ORDER_LIST.json_schema(),
                    "NewOrder": models.NEW_ORDER.json_schema(), "OrderEdit": models.ORDER_EDIT.json_schema(),
                    "Acknowledge": models.ACKNOWLEDGE.json_schema()},
        "routes": {
            ("POST", "/orders"): dict(summary="Place an order (idempotent per caller and orderId).",
                                      body="NewOrder", ok="Order", errors=[400, 401, 409, 413, 415, 503]),
            ("GET", "/orders"): dict(summary="List the caller's orders.", params=_page_params(models, pagination),
                                     ok="OrderList", errors=[400, 401, 503]),
            ("GET", "/orders/{orderId}"): dict(summary="Read one of the caller's orders.", params=[order_id],
                                               ok="Order", errors=[400, 401, 404, 503]),
            ("PUT", "/orders/{orderId}"): dict(summary="Edit a PLACED order.", params=[order_id], body="OrderEdit",
                                               ok="Order", errors=[400, 401, 404, 413, 415, 503]),
            ("DELETE", "/orders/{orderId}"): dict(summary="Cancel a PLACED order within the cancel window.",
                                                  params=[order_id], ok="Order", errors=[400, 401, 404, 503]),
            ("POST", "/orders/{orderId}/acknowledge"): dict(
                summary="Acknowledge a PLACED order (admins).", params=[order_id], body="Acknowledge", ok="Order",
                errors=[400, 401, 403, 404, 413, 415, 503]),
        },
    }


def _ref_or_inline(schema: Any, components: Dict[str, Any]) -> Dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else _with_refs(schema, components)


def _with_refs(schema: Any, components: Dict[str, Any], own: str = "") -> Any:
    """`schema` with every nested copy of a component schema (other than `own`) replaced by a $ref to it,
    e.g. the Order inside OrderList's `orders`."""
    if isinstance(schema, dict):
        for name, component in components.items():
            if name != own and schema == component:
                return {"$ref": f"#/components/schemas/{name}"}
        return {key: _with_refs(value, components) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_with_refs(value, components) for value in schema]
    return schema


def _spec(app_name: str) -> Dict[str, Any]:
    """The app's route descriptions and schemas (from its models and render declarations)."""
    from chalicelib.shared import pagination
    if app_name == "users_app":
        from chalicelib.users import models, render
        return _users(models, render, pagination)
    from chalicelib.orders import models, render
    return _orders(models, render, pagination)


def _check_routes(app_name: str, chalice_app: Any, spec: Dict[str, Any]) -> None:
    declared = {(method, path) for path, methods in chalice_app.routes.items() for method in methods}
    described = set(spec["routes"])
    if declared != described:
        raise SystemExit(f"{app_name}: routes and OpenAPI description differ: "
                         f"undocumented {sorted(declared - described)}, stale {sorted(described - declared)}")


def _operation(view_name: str, route: Dict[str, Any], components: Dict[str, Any]) -> Dict[str, Any]:
    responses: Dict[str, Any] = {"200": {
        "description": "OK", "content": {"application/json": {"schema": _ref_or_inline(route["ok"], components)}}}}
    if route.get("ok_headers"):
        responses["200"]["headers"] = {name: {"schema": {"type": "string"}} for name in route["ok_headers"]}
    for status in route["errors"]:
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    operation: Dict[str, Any] = {"operationId": view_name, "summary": route["summary"],
                                 "security": [{"CognitoIdToken": []}], "parameters": route.get("params", []),
                                 "responses": responses}
    if route.get("body"):
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{route['body']}"}}}}
    return operation


def _components(components: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "securitySchemes": {"CognitoIdToken": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "A Cognito ID token (a `Bearer ` prefix is accepted)."}},
        "schemas": {"Error": ERROR_SCHEMA,
                    **{name: _with_refs(schema, components, own=name) for name, schema in components.items()}},
        "responses": {f"E{status}": {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for status, text in ERRORS.items()},
    }


def build(app_name: str) -> Dict[str, Any]:
    """The document for `app_name`; must run with that app importable as `app`/`chalicelib`."""
    import app as app_module  # imported in the subprocess that owns this app
    spec, chalice_app = _spec(app_name), app_module.app
    _check_routes(app_name, chalice_app, spec)
    paths: Dict[str, Dict[str, Any]] = {}
    for (method, path), route in sorted(spec["routes"].items(), key=lambda kv: (kv[0][1], kv[0][0])):
        view_name = chalice_app.routes[path][method].view_name
        paths.setdefault(path, {})[method.lower()] = _operation(view_name, route, spec["schemas"])
    return {
        "openapi": "3.0.3",
        "info": {"title": spec["title"], "version": "1.0.0",
                 "description": "Generated by deploy/codegen/openapi.py from the app's routes, request models and "
                                "output documents."},
        "paths": paths,
        "components": _components(spec["schemas"]),
    }


def render(app_name: str) -> str:
    """The document as committed, generated in a fresh interpreter for `app_name`."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / app_name), str(ROOT)])}
    env.setdefault("AWS_ACCESS_KEY_ID", "openapi")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "openapi")
    for name, value in _local_stage_env(app_name).items():
        env.setdefault(name, value)
    result = subprocess.run([sys.executable, __file__, "--emit", app_name], cwd=ROOT / app_name, env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{app_name}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _local_stage_env(app_name: str) -> Dict[str, str]:
    env = stage_env(app_name)
    env.update({"USER_POOL_ID": "us-east-1_openapi", "APP_CLIENT_ID": "openapi"})
    env.pop("LOCAL_DEBUG", None)
    return env


def target(app_name: str) -> Path:
    return ROOT / app_name / "openapi.json"


def main(argv: List[str]) -> int:
    if argv[:1] == ["--emit"]:
        sys.stdout.write(json.dumps(build(argv[1]), indent=2, sort_keys=False) + "\n")
        return 0
    stale = []
    for app_name in APPS:
        text = render(app_name)
        path = target(app_name)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text)
    for name in stale:
        print(f"{name} is out of date with the code; run `make openapi`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
