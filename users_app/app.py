"""Users API (Chalice): a custom TOKEN authorizer and five thin routes over `chalicelib.users`.

This module is the composition root, the same shape as orders_app/app.py: settings and Powertools
are built once, at import; `compose(**overrides)` puts the parts together (the JWT verifier, the
app's one DynamoDB client, the repository, the service) and `root` holds the installed parts that
the views and the authorizer read. Tests install their own:
`root.install(compose(repo=..., clock=..., verifier=...))` (chalicelib/shared/composition.py).
The authorizer runs as its own Lambda function on this same app.py; it builds neither the DynamoDB
client nor the tracer (see AUTHORIZER_FUNCTION).
"""
import functools
import logging
import os
from typing import Any, Dict, Optional

from chalice import Chalice, Response

from chalicelib.shared.aws import dynamodb_client
from chalicelib.shared.caller import Caller
from chalicelib.shared.chalice_cli import allow_only_package
from chalicelib.shared.composition import Root
from chalicelib.shared.http import api_view, current_request, json_response, parse_json_object, query_int
from chalicelib.shared.init_phase import collector_paused
from chalicelib.shared.observability import Observability
from chalicelib.shared.ports import Clock, utc_now
from chalicelib.shared.snapstart import after_restore, reseed_random
from chalicelib.shared.verifier import CognitoVerifier
from chalicelib.users import models
from chalicelib.users import settings as settings_module
from chalicelib.users.auth import AUTHORIZER_TTL_SECONDS, authorize
from chalicelib.users.repository import DynamoUsersRepository, UsersRepository
from chalicelib.users.service import UsersService

allow_only_package("users", local_reason="a token its custom authorizer rejects drops the connection "
                                        "instead of answering 401")
settings = settings_module.load()

app = Chalice(app_name="users", configure_logs=False)
# Chalice's `debug` setter forces its logger (named like the app, "users") to ERROR, which would
# silence Powertools' logger of the same name: Chalice gets a child logger instead (its records
# still go out through Powertools' JSON handler), and Powertools is built after it.
app.log = logging.getLogger("users.chalice")
app.debug = settings.local_debug
# Lambda names the handler in _HANDLER. The authorizer runs as its own function on this same
# app.py; it reads no table and serves no HTTP request, so it builds neither the DynamoDB client
# nor the trace exporter (boto3 is most of the API function's init).
AUTHORIZER_HANDLER = "app.users_authorizer"
AUTHORIZER_FUNCTION = os.environ.get("_HANDLER") == AUTHORIZER_HANDLER
observability = Observability(settings.service_name, settings.metrics_namespace, tracing=settings.tracing,
                              tracing_at_import=not AUTHORIZER_FUNCTION)
observability.install(app)
logger = observability.logger


@functools.lru_cache(maxsize=None)
def ddb() -> Any:
    """The app's one DynamoDB client, built on first use."""
    client = dynamodb_client(settings.ddb_connect_timeout, settings.ddb_read_timeout, settings.ddb_max_attempts)
    return observability.tracing.instrument(client)


class Parts:
    """What the authorizer and the routes use, as `compose` put them together. The repository (over
    the app's one DynamoDB client) and the service are built on first use: the authorizer's own
    function only verifies tokens and never builds them."""

    def __init__(self, verifier: CognitoVerifier, repo: Optional[UsersRepository], clock: Clock) -> None:
        self.verifier = verifier
        self.clock = clock
        self._repo = repo

    @functools.cached_property
    def repo(self) -> UsersRepository:
        return DynamoUsersRepository(ddb(), settings.users_table) if self._repo is None else self._repo

    @functools.cached_property
    def service(self) -> UsersService:
        return UsersService(self.repo, clock=self.clock, metrics=observability.metrics)

    def build(self) -> "Parts":
        """Build every part now (in the init phase rather than in the first request)."""
        _ = self.service
        return self


def compose(repo: Optional[UsersRepository] = None, clock: Clock = utc_now,
            verifier: Optional[CognitoVerifier] = None) -> Parts:
    """The parts over the given overrides; by default DynamoDB through the app's one client, the
    system clock and a verifier of the user pool's tokens."""
    if verifier is None:
        verifier = CognitoVerifier(settings.issuer, settings.app_client_id, jwks_url=settings.jwks_url,
                                   allow_access_tokens=settings.allow_access_tokens)
    return Parts(verifier, repo, clock)


root = Root(compose())
if not AUTHORIZER_FUNCTION:
    with collector_paused():  # what init builds lives as long as the container (init_phase.py)
        root.parts.build()  # the API function builds its DynamoDB client in the init phase


def _restored() -> None:
    """SnapStart: what a snapshot must not carry into the environments restored from it (snapstart.py)."""
    reseed_random()
    root.parts.verifier.restored()


after_restore(_restored)


def caller() -> Caller:
    return Caller.from_custom_authorizer(current_request(app).context)


def service() -> UsersService:
    return root.parts.service


@app.authorizer(ttl_seconds=AUTHORIZER_TTL_SECONDS)
def users_authorizer(auth_request: Any) -> Any:
    observability.authorizer_context()
    return authorize(root.parts.verifier, auth_request.token, auth_request.method_arn, settings.admin_group, logger)


@app.route("/users", methods=["GET"], authorizer=users_authorizer)
@api_view(logger)
def list_users() -> Response:
    request = current_request(app)
    params: Any = request.query_params or {}
    limit = query_int(params, "limit", models.LIST_DEFAULT_LIMIT, 1, models.LIST_MAX_LIMIT)
    users, next_token = service().list(caller(), limit, params.get("nextToken"))
    headers: Dict[str, str] = {}
    if next_token:
        path = (request.context or {}).get("path") or "/users"
        headers["Link"] = f'<{path}?limit={limit}&nextToken={next_token}>; rel="next"'
        headers["X-Next-Token"] = next_token
    return json_response(users, headers=headers)


@app.route("/users", methods=["POST"], authorizer=users_authorizer)
@api_view(logger)
def create_user() -> Response:
    who = caller()
    service().require_admin(who)  # 403 before anything about the body
    data = models.parse_create(parse_json_object(current_request(app)))
    return json_response(service().create(who, data))


@app.route("/users/{userid}", methods=["GET"], authorizer=users_authorizer)
@api_view(logger)
def get_user(userid: str) -> Response:
    return json_response(service().get(caller(), models.check_userid(userid)))


@app.route("/users/{userid}", methods=["PUT"], authorizer=users_authorizer)
@api_view(logger)
def put_user(userid: str) -> Response:
    who, userid = caller(), models.check_userid(userid)
    service().require_owner_or_admin(who, userid)  # 403 before anything about the body
    data = models.parse_update(parse_json_object(current_request(app)), userid)
    return json_response(service().put(who, userid, data))


@app.route("/users/{userid}", methods=["DELETE"], authorizer=users_authorizer)
@api_view(logger)
def delete_user(userid: str) -> Response:
    service().delete(caller(), models.check_userid(userid))
    return json_response({})
