"""Orders API (Chalice). Thin routes: parse, call one service function, answer.

This module is the composition root: settings, the one DynamoDB client (shared by the
repository and the idempotency layer), the service and the observability middleware are built
once, at import. Tests replace `service` with `compose(...)` over in-memory fakes.
"""
import logging
from typing import Any, Optional

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, DynamoDBPersistenceLayer
from chalice import Chalice, CognitoUserPoolAuthorizer, Response

from chalicelib.orders import idempotency, settings as settings_module
from chalicelib.orders.models import (caller_from_claims, check_order_id, parse_acknowledge, parse_edit,
                                      parse_new_order, Caller)
from chalicelib.orders.repository import DynamoOrderRepository, OrderRepository
from chalicelib.orders.service import Clock, OrderService, utc_now
from chalicelib.shared.aws import dynamodb_client
from chalicelib.shared.chalice_cli import allow_only_package
from chalicelib.shared.claims import claims_from_context
from chalicelib.shared.http import api_view, json_response, parse_json_object, query_int
from chalicelib.shared.observability import Observability

allow_only_package("orders", local_reason="it does not verify Cognito tokens, so an unsigned or expired "
                                         "token reaches the routes as a logged-in user")
settings = settings_module.load()

app = Chalice(app_name="orders", configure_logs=False)
# Chalice's `debug` setter forces the logger named like the app ("orders", also Powertools' logger)
# to ERROR: Chalice gets a child logger instead, and Powertools is built after it.
app.log = logging.getLogger("orders.chalice")
app.debug = settings.local_debug

observability = Observability(settings.service_name, settings.metrics_namespace, path_keys=("orderId",))
observability.install(app)
logger = observability.logger


ddb = dynamodb_client(settings.ddb_connect_timeout, settings.ddb_read_timeout, settings.ddb_max_attempts)

authorizer = CognitoUserPoolAuthorizer("OrdersUserPool", provider_arns=[settings.user_pool_arn])

LIST_DEFAULT_LIMIT = 50
LIST_MAX_LIMIT = 100


def compose(repo: Optional[OrderRepository] = None, clock: Clock = utc_now,
            idempotency_store: Optional[BasePersistenceLayer] = None) -> OrderService:
    """The service over the given parts; by default DynamoDB through the app's one client."""
    return OrderService(
        repo=DynamoOrderRepository(ddb, settings.orders_table) if repo is None else repo,
        clock=clock,
        cancel_window_seconds=settings.cancel_window_seconds,
        metrics=observability.metrics,
        idempotency_store=DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=ddb)
        if idempotency_store is None else idempotency_store,
        idempotency_config=idempotency.make_config(settings.idempotency_expiry_seconds),
        create_delay_seconds=settings.local_create_delay_ms / 1000,
    )


service = compose()


def caller() -> Caller:
    context = app.current_request.context or {}
    return caller_from_claims(claims_from_context(context.get("authorizer")), settings.admin_group)


def order_id_param() -> str:
    return check_order_id(app.current_request.uri_params["orderId"])


@app.route("/orders", methods=["POST"], authorizer=authorizer)
@api_view(logger)
def create_order() -> Response:
    who = caller()
    order = parse_new_order(parse_json_object(app.current_request), who)
    logger.append_keys(orderId=order.order_id)
    return json_response(service.create(who, order, lambda_context=app.lambda_context))


@app.route("/orders", methods=["GET"], authorizer=authorizer)
@api_view(logger)
def list_orders() -> Response:
    params: Any = app.current_request.query_params or {}
    limit = query_int(params, "limit", LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT)
    return json_response(service.list(caller(), limit, params.get("nextToken")))


@app.route("/orders/{orderId}", methods=["GET"], authorizer=authorizer)
@api_view(logger)
def get_order(orderId: str) -> Response:  # noqa: N803 - Chalice passes the path parameter by name
    return json_response(service.get(caller(), order_id_param()))


@app.route("/orders/{orderId}", methods=["PUT"], authorizer=authorizer)
@api_view(logger)
def edit_order(orderId: str) -> Response:  # noqa: N803
    who, order_id = caller(), order_id_param()
    edit = parse_edit(parse_json_object(app.current_request), order_id, who)
    return json_response(service.edit(who, order_id, edit))


@app.route("/orders/{orderId}", methods=["DELETE"], authorizer=authorizer)
@api_view(logger)
def cancel_order(orderId: str) -> Response:  # noqa: N803
    return json_response(service.cancel(caller(), order_id_param()))


@app.route("/orders/{orderId}/acknowledge", methods=["POST"], authorizer=authorizer)
@api_view(logger)
def acknowledge_order(orderId: str) -> Response:  # noqa: N803
    who, order_id = caller(), order_id_param()
    service.authorize_acknowledge(who)  # 403 before anything about the body
    owner = parse_acknowledge(parse_json_object(app.current_request))
    return json_response(service.acknowledge(who, owner, order_id))
