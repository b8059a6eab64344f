"""Orders API (Chalice): six thin routes behind a Cognito authorizer over `chalicelib.orders`.

This module is the composition root, the same shape as users_app/app.py: settings and Powertools
are built once, at import; `compose(**overrides)` puts the parts together (the app's one DynamoDB
client, shared by the repository and the idempotency layer, the service) and `root` holds the
installed parts that the views read. Tests install their own:
`root.install(compose(repo=..., clock=..., idempotency_store=...))` (chalicelib/shared/composition.py).
"""
import functools
import logging
from typing import TYPE_CHECKING, Any, Optional

from chalice import Chalice, CognitoUserPoolAuthorizer, Response

from chalicelib.orders import models
from chalicelib.orders import settings as settings_module
from chalicelib.orders.repository import DynamoOrdersRepository, OrdersRepository
from chalicelib.orders.service import OrdersService
from chalicelib.shared.aws import dynamodb_client
from chalicelib.shared.caller import Caller
from chalicelib.shared.chalice_cli import allow_only_package
from chalicelib.shared.composition import Root
from chalicelib.shared.http import api_view, current_request, json_response, parse_json_object, query_int
from chalicelib.shared.init_phase import collector_paused
from chalicelib.shared.observability import Observability
from chalicelib.shared.ports import Clock, utc_now
from chalicelib.shared.snapstart import after_restore, reseed_random

if TYPE_CHECKING:  # Powertools' idempotency package is imported by the first create, not at init
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

allow_only_package("orders", local_reason="it does not verify Cognito tokens, so an unsigned or expired "
                                         "token reaches the routes as a logged-in user")
settings = settings_module.load()

app = Chalice(app_name="orders", configure_logs=False)
# Chalice's `debug` setter forces the logger named like the app ("orders", also Powertools' logger)
# to ERROR: Chalice gets a child logger instead, and Powertools is built after it.
app.log = logging.getLogger("orders.chalice")
app.debug = settings.local_debug
authorizer = CognitoUserPoolAuthorizer("OrdersUserPool", provider_arns=[settings.user_pool_arn])
observability = Observability(settings.service_name, settings.metrics_namespace, path_keys=("orderId",),
                              tracing=settings.tracing)
observability.install(app)
logger = observability.logger


@functools.lru_cache(maxsize=None)
def ddb() -> Any:
    """The app's one DynamoDB client, built on first use."""
    client = dynamodb_client(settings.ddb_connect_timeout, settings.ddb_read_timeout, settings.ddb_max_attempts)
    return observability.tracing.instrument(client)


class Parts:
    """What the routes use, as `compose` put them together. The repository and the idempotency store
    (both over the app's one DynamoDB client) and the service are built on first use; the service
    asks for the idempotency store on its first create (reads never need Powertools' idempotency)."""

    def __init__(self, repo: Optional[OrdersRepository], clock: Clock,
                 idempotency_store: Optional["BasePersistenceLayer"]) -> None:
        self.clock = clock
        self._repo = repo
        self._idempotency_store = idempotency_store

    @functools.cached_property
    def repo(self) -> OrdersRepository:
        return DynamoOrdersRepository(ddb(), settings.orders_table) if self._repo is None else self._repo

    @functools.cached_property
    def idempotency_store(self) -> "BasePersistenceLayer":
        if self._idempotency_store is not None:
            return self._idempotency_store
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=ddb())

    @functools.cached_property
    def service(self) -> OrdersService:
        return OrdersService(self.repo, clock=self.clock, cancel_window_seconds=settings.cancel_window_seconds,
                             metrics=observability.metrics, idempotency_store=lambda: self.idempotency_store,
                             idempotency_expiry_seconds=settings.idempotency_expiry_seconds)

    def build(self) -> "Parts":
        """Build the service and the repository now (in the init phase rather than in the first request)."""
        _ = self.service
        return self


def compose(repo: Optional[OrdersRepository] = None, clock: Clock = utc_now,
            idempotency_store: Optional["BasePersistenceLayer"] = None) -> Parts:
    """The parts over the given overrides; by default DynamoDB through the app's one client (orders
    and idempotency records) and the system clock."""
    return Parts(repo, clock, idempotency_store)


root = Root(compose())
with collector_paused():  # what init builds lives as long as the container (init_phase.py)
    root.parts.build()  # the DynamoDB client in the init phase


def _restored() -> None:
    """SnapStart: what a snapshot must not carry into the environments restored from it (snapstart.py)."""
    reseed_random()


after_restore(_restored)


def caller() -> Caller:
    return Caller.from_cognito_authorizer(current_request(app).context, settings.admin_group)


def service() -> OrdersService:
    return root.parts.service


@app.route("/orders", methods=["POST"], authorizer=authorizer)
@api_view(logger)
def create_order() -> Response:
    who = caller()
    order = models.parse_new_order(parse_json_object(current_request(app)), who)
    logger.append_keys(orderId=order.order_id)
    return json_response(service().create(who, order, lambda_context=app.lambda_context))


@app.route("/orders", methods=["GET"], authorizer=authorizer)
@api_view(logger)
def list_orders() -> Response:
    params: Any = current_request(app).query_params or {}
    limit = query_int(params, "limit", models.LIST_DEFAULT_LIMIT, 1, models.LIST_MAX_LIMIT)
    return json_response(service().list(caller(), limit, params.get("nextToken")))


@app.route("/orders/{orderId}", methods=["GET"], authorizer=authorizer)
@api_view(logger)
def get_order(orderId: str) -> Response:  # noqa: N803 - Chalice passes the path parameter by its name
    return json_response(service().get(caller(), models.check_order_id(orderId)))


@app.route("/orders/{orderId}", methods=["PUT"], authorizer=authorizer)
@api_view(logger)
def edit_order(orderId: str) -> Response:  # noqa: N803
    who, order_id = caller(), models.check_order_id(orderId)
    edit = models.parse_edit(parse_json_object(current_request(app)))
    return json_response(service().edit(who, order_id, edit))


@app.route("/orders/{orderId}", methods=["DELETE"], authorizer=authorizer)
@api_view(logger)
def cancel_order(orderId: str) -> Response:  # noqa: N803
    return json_response(service().cancel(caller(), models.check_order_id(orderId)))


@app.route("/orders/{orderId}/acknowledge", methods=["POST"], authorizer=authorizer)
@api_view(logger)
def acknowledge_order(orderId: str) -> Response:  # noqa: N803
    who, order_id = caller(), models.check_order_id(orderId)
    service().require_admin(who)  # 403 before anything about the body
    owner = models.parse_acknowledge(parse_json_object(current_request(app)))
    return json_response(service().acknowledge(who, owner, order_id))
