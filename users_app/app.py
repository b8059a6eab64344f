"""Users service: a custom TOKEN authorizer and five thin routes over `chalicelib.users`.

Everything expensive is built once per container, here at import (the composition root):
settings, one DynamoDB client, the JWT verifier, Powertools. The one exception is the authorizer's
own Lambda function (same app.py, handler `app.users_authorizer`), which builds neither the client
nor the tracer (see AUTHORIZER_FUNCTION). Tests replace the parts with `configure(...)` (an
in-memory repository, a fake clock, a verifier with a test JWKS).
"""
import logging
import os
from typing import Any, Dict, Optional

from chalice import Chalice

from chalicelib.shared.aws import dynamodb_client
from chalicelib.shared.chalice_cli import allow_only_package
from chalicelib.shared.http import api_view, json_response, parse_json_object, query_int
from chalicelib.shared.observability import Observability
from chalicelib.shared.verifier import CognitoVerifier
from chalicelib.users import models
from chalicelib.users.auth import AUTHORIZER_TTL_SECONDS, authorize
from chalicelib.users.repository import DynamoUsersRepository
from chalicelib.users.service import DEFAULT_LIMIT, MAX_LIMIT, Caller, UsersService
from chalicelib.users.settings import load as load_settings

allow_only_package("users", local_reason="a token its custom authorizer rejects drops the connection "
                                        "instead of answering 401")
settings = load_settings()

app = Chalice(app_name="users", configure_logs=False)
# Chalice's `debug` setter forces its logger (named like the app, "users") to ERROR, which would
# silence Powertools' logger of the same name: Chalice gets a child logger instead (its records
# still go out through Powertools' JSON handler), and Powertools is built after it.
app.log = logging.getLogger("users.chalice")
app.debug = settings.local_debug
# Lambda names the handler in _HANDLER. The authorizer runs as its own function on this same
# app.py; it reads no table and serves no HTTP request, so it builds neither the DynamoDB client
# nor the X-Ray tracer (boto3 and the X-Ray SDK: about 70 % of the API function's init).
AUTHORIZER_HANDLER = "app.users_authorizer"
AUTHORIZER_FUNCTION = os.environ.get("_HANDLER") == AUTHORIZER_HANDLER
obs = Observability(settings.service_name, settings.metrics_namespace, tracer_at_import=not AUTHORIZER_FUNCTION)
obs.install(app)
logger = obs.logger


class Deps:
    """The composition root's parts; `configure` swaps them (tests). The service (and with it the
    DynamoDB client) is built on first use; below, at import, unless this is the authorizer."""

    def __init__(self) -> None:
        self._service: Optional[UsersService] = None
        self.verifier = CognitoVerifier(settings.issuer, settings.app_client_id, jwks_url=settings.jwks_url,
                                        allow_access_tokens=settings.allow_access_tokens)

    @property
    def service(self) -> UsersService:
        return self.build_service() if self._service is None else self._service

    @service.setter
    def service(self, service: UsersService) -> None:
        self._service = service

    def build_service(self) -> UsersService:
        ddb = dynamodb_client(settings.ddb_connect_timeout, settings.ddb_read_timeout, settings.ddb_max_attempts)
        self._service = UsersService(DynamoUsersRepository(ddb, settings.users_table))
        return self._service


deps = Deps()


def configure(service: Optional[UsersService] = None, verifier: Optional[CognitoVerifier] = None) -> None:
    if service is not None:
        deps.service = service
    if verifier is not None:
        deps.verifier = verifier


@app.authorizer(ttl_seconds=AUTHORIZER_TTL_SECONDS)
def users_authorizer(auth_request: Any) -> Any:
    obs.authorizer_context()
    return authorize(deps.verifier, auth_request.token, auth_request.method_arn, settings.admin_group, logger)


if not AUTHORIZER_FUNCTION:  # the API function builds its client in the init phase
    deps.build_service()


def _caller() -> Caller:
    return Caller.from_context(app.current_request.context)


@app.route("/users", methods=["GET"], authorizer=users_authorizer)
@api_view(logger)
def list_users() -> Any:
    request = app.current_request
    params = request.query_params or {}
    limit = query_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    users, next_token = deps.service.list_users(_caller(), limit, params.get("nextToken"))
    headers: Dict[str, str] = {}
    if next_token:
        path = (request.context or {}).get("path") or "/users"
        headers["Link"] = f'<{path}?limit={limit}&nextToken={next_token}>; rel="next"'
        headers["X-Next-Token"] = next_token
    return json_response(users, headers=headers)


@app.route("/users", methods=["POST"], authorizer=users_authorizer)
@api_view(logger)
def create_user() -> Any:
    caller = _caller()
    caller.require_admin()
    data = models.parse_create(parse_json_object(app.current_request))
    user = deps.service.create_user(caller, data)
    obs.count("UserCreated")
    return json_response(user)


@app.route("/users/{userid}", methods=["GET"], authorizer=users_authorizer)
@api_view(logger)
def get_user(userid: str) -> Any:
    return json_response(deps.service.get_user(_caller(), models.check_userid(userid)))


@app.route("/users/{userid}", methods=["PUT"], authorizer=users_authorizer)
@api_view(logger)
def put_user(userid: str) -> Any:
    caller = _caller()
    models.check_userid(userid)
    caller.require_owner_or_admin(userid)
    data = models.parse_update(parse_json_object(app.current_request), userid)
    user = deps.service.put_user(caller, userid, data)
    obs.count("UserUpdated")
    return json_response(user)


@app.route("/users/{userid}", methods=["DELETE"], authorizer=users_authorizer)
@api_view(logger)
def delete_user(userid: str) -> Any:
    deps.service.delete_user(_caller(), models.check_userid(userid))
    obs.count("UserDeleted")
    return json_response({})
