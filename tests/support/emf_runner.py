"""Run one packaged Lambda function the way Lambda does, offline, and collect the EMF metrics it emits.

Parent side (`emitted_series`): starts `python -m tests.support.emf_runner <app dir> <handler>` in a fresh
process (settings and the metrics namespace are parsed at import) with the function's environment from the
packaged template, Lambda's own variables and fake credentials; reads the EMF lines (JSON objects with an
`_aws` key) from its stdout.

Child side (`main`): loads the app through tests/support/apps.py, swaps in the in-memory fakes through the
composition root, and calls the handler as Lambda would: the Chalice app object with API Gateway proxy
events for every route (exiting non-zero if a route was not driven or did not answer 200), or the TOKEN
authorizer with TOKEN events. Nothing reaches AWS: every endpoint points at a closed local port.
"""
import json
import os
import subprocess
import sys
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from deploy.project import REGION, ROOT
from tests.support.lambda_context import ACCOUNT, FakeLambdaContext

UNREACHABLE = "http://127.0.0.1:9"  # any AWS call fails at once instead of leaving the machine
Series = Tuple[str, str, frozenset]


# ---------------------------------------------------------------- parent side

def lambda_environment(variables: Mapping[str, str], function_name: str, handler: str,
                       memory_mb: int) -> Dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
        "TZ": ":UTC", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb), "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": UNREACHABLE, "AWS_EC2_METADATA_DISABLED": "true",
        **variables,
    }


def emf_series(stdout: str) -> Set[Series]:
    """(namespace, metric, {dimension: value}) for every metric of every EMF line."""
    series: Set[Series] = set()
    for line in stdout.splitlines():
        record = _json_object(line)
        for directive in (record or {}).get("_aws", {}).get("CloudWatchMetrics", []):
            for dimension_set in directive["Dimensions"]:
                dimensions = frozenset((name, record[name]) for name in dimension_set)
                series |= {(directive["Namespace"], metric["Name"], dimensions) for metric in directive["Metrics"]}
    return series


def _json_object(line: str) -> Optional[Dict[str, Any]]:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def emitted_series(app_dir: str, handler: str, env: Mapping[str, str]) -> Set[Series]:
    proc = subprocess.run([sys.executable, "-m", "tests.support.emf_runner", app_dir, handler], cwd=ROOT,
                          env=dict(env), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"{app_dir} {handler}: the runner failed (exit {proc.returncode}):\n"
                             f"{proc.stderr[-4000:]}")
    return emf_series(proc.stdout)


# ---------------------------------------------------------------- child side

def lambda_context() -> FakeLambdaContext:
    """The context Lambda passes this function (its AWS_LAMBDA_* variables are in the environment)."""
    return FakeLambdaContext.from_environment(remaining_ms=9000)


class RunnerError(Exception):
    pass


def proxy_event(method: str, resource: str, params: Mapping[str, str], body: Any,
                authorizer: Mapping[str, Any]) -> Dict[str, Any]:
    """An API Gateway REST proxy event, as it reaches the function behind stage `api`."""
    path = resource.format(**params)
    headers = {"Content-Type": "application/json", "Host": "api.example.com"}
    return {"resource": resource, "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": dict(params) or None, "stageVariables": None,
            "requestContext": {"resourcePath": resource, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                               "requestId": str(uuid.uuid4()), "accountId": ACCOUNT,
                               "identity": {"sourceIp": "192.0.2.10"}, "authorizer": dict(authorizer)},
            "body": None if body is None else json.dumps(body), "isBase64Encoded": False}


Call = Tuple[str, str, Mapping[str, str], Any, Mapping[str, Any]]  # method, resource, params, body, authorizer


def drive(handler: Callable[[Dict[str, Any], Any], Dict[str, Any]], routes: Iterable[Tuple[str, str]],
          calls: List[Call]) -> None:
    """Invoke `handler` once per call; every call must answer 200 and every route must be called."""
    for method, resource, params, body, authorizer in calls:
        response = handler(proxy_event(method, resource, params, body, authorizer), lambda_context())
        if response["statusCode"] != 200:
            raise RunnerError(f"{method} {resource} answered {response['statusCode']}: {response['body']}")
    missed = set(routes) - {(method, resource) for method, resource, *_ in calls}
    if missed:
        raise RunnerError(f"routes not driven: {sorted(missed)}")


def app_routes(chalice_app: Any) -> Set[Tuple[str, str]]:
    return {(method, path) for path, methods in chalice_app.routes.items() for method in methods}


def verifier_for(app: Any) -> Any:
    """The app's own verifier class, configured from its settings, with a JWKS of tests/support/tokens.py's key."""
    from tests.support import tokens
    from tests.support.apps import app_module

    verifier = app_module("users_app", "chalicelib.shared.verifier")
    jwks = app_module("users_app", "chalicelib.shared.jwks")
    keys = tokens.keys(jwks.JwksClient, tokens.fake_fetch(tokens.jwks_bytes()), url=app.settings.jwks_url)
    return verifier.CognitoVerifier(app.settings.issuer, app.settings.app_client_id, keys=keys)


def token_event(token: str) -> Dict[str, str]:
    method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/api/GET/users"
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}


def admin_token(app: Any, sub: str) -> str:
    from tests.support import tokens
    return tokens.token(sub=sub, groups=[app.settings.admin_group])


def drive_users_authorizer(app: Any) -> None:
    from tests.support import tokens
    app.root.install(app.compose(verifier=verifier_for(app)))
    for token, sub in ((admin_token(app, "emf-admin"), "emf-admin"), (tokens.token(sub="emf-user"), "emf-user")):
        policy = app.users_authorizer(token_event(token), lambda_context())
        if policy.get("principalId") != sub:
            raise RunnerError(f"the authorizer did not allow {sub}: {policy}")
    try:
        app.users_authorizer(token_event("not-a-token"), lambda_context())
    except Exception as exc:  # Lambda reports the raised error to API Gateway
        if str(exc) != "Unauthorized":
            raise
    else:
        raise RunnerError("the authorizer allowed a malformed token")


def drive_users_api(app: Any) -> None:
    from tests.support.apps import app_module
    repository = app_module("users_app", "chalicelib.users.repository")
    auth = app_module("users_app", "chalicelib.users.auth")
    app.root.install(app.compose(repo=repository.InMemoryUsersRepository()))
    # What API Gateway passes on from the authorizer (its own function; calling it here would take this
    # function's cold start): principalId and the authorizer's flat string context.
    allowed = auth.authorize(verifier_for(app), admin_token(app, "emf-admin"), token_event("")["methodArn"],
                             app.settings.admin_group, app.logger)
    admin = {"principalId": allowed.principal_id, **allowed.context}
    user = {"userid": "emf-user-1"}
    drive(app.app, app_routes(app.app), [
        ("POST", "/users", {}, {"name": "Ada Lovelace", "userid": user["userid"]}, admin),
        ("GET", "/users", {}, None, admin),
        ("GET", "/users/{userid}", user, None, admin),
        ("PUT", "/users/{userid}", user, {"name": "Ada King", "email": "ada@example.com"}, admin),
        ("DELETE", "/users/{userid}", user, None, admin),
    ])


def cognito_claims(sub: str, groups: List[str]) -> Dict[str, Any]:
    """`requestContext.authorizer` behind a Cognito authorizer: claims as strings, groups comma-joined."""
    from tests.support import tokens
    claims = {name: str(value) for name, value in tokens.claims(sub=sub).items()}
    if groups:
        claims["cognito:groups"] = ",".join(groups)
    return {"claims": claims}


def drive_orders_api(app: Any) -> None:
    from tests.support.apps import app_module
    from tests.support.orders import order_body
    repository = app_module("orders_app", "chalicelib.orders.repository")
    idempotency = app_module("orders_app", "chalicelib.orders.idempotency")
    app.root.install(app.compose(repo=repository.InMemoryOrdersRepository(),
                                 idempotency_store=idempotency.InMemoryPersistenceLayer()))
    user, admin = cognito_claims("emf-user", []), cognito_claims("emf-admin", [app.settings.admin_group])
    first, second = {"orderId": "emf-order-1"}, {"orderId": "emf-order-2"}
    drive(app.app, app_routes(app.app), [
        ("POST", "/orders", {}, order_body(first["orderId"]), user),
        ("GET", "/orders", {}, None, user),
        ("GET", "/orders/{orderId}", first, None, user),
        ("PUT", "/orders/{orderId}", first, {"totalAmount": 12.5}, user),
        ("DELETE", "/orders/{orderId}", first, None, user),
        ("POST", "/orders", {}, order_body(second["orderId"]), user),
        ("POST", "/orders/{orderId}/acknowledge", second, {"userId": "emf-user"}, admin),
    ])


DRIVERS: Dict[Tuple[str, str], Callable[[Any], None]] = {
    ("users_app", "app.app"): drive_users_api,
    ("users_app", "app.users_authorizer"): drive_users_authorizer,
    ("orders_app", "app.app"): drive_orders_api,
}


def main(argv: List[str]) -> int:
    from tests.support.apps import use_app
    app_dir, handler = argv
    driver = DRIVERS.get((app_dir, handler))
    if driver is None:
        print(f"no driver for {app_dir} {handler}: add one to tests/support/emf_runner.py", file=sys.stderr)
        return 2
    try:
        driver(use_app(app_dir))
    except RunnerError as exc:
        print(f"{app_dir} {handler}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
