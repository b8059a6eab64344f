"""Order business rules, free of HTTP and of AWS specifics (storage is an `OrderRepository`,
time an injectable clock, metrics any object with `add_metric(name, unit, value)`).

Lifecycle: PLACED -> ACKNOWLEDGED (admin) and PLACED -> CANCELED (owner, within the cancel
window). Edits only while PLACED. Every change is one conditional write; when it fails, the
stored order that came back with the failure says why (404, or 400 with a specific code).
"""
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Protocol

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig

from chalicelib.shared.errors import BadRequest, Conflict, Forbidden, NotFound
from chalicelib.shared.pagination import decode_token, encode_token

from . import idempotency
from .models import (ACKNOWLEDGED, CANCELED, PLACED, SERVER_OWNED_CODES, Caller, NewOrder, OrderEdit,
                     present, valid_order_id)
from .repository import OrderRepository, UpdateOutcome

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
Clock = Callable[[], datetime]


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> Any: ...

    def add_metadata(self, key: str, value: Any) -> Any: ...


class _NoMetrics:
    def add_metric(self, name: str, unit: str, value: float) -> None:
        return None

    def add_metadata(self, key: str, value: Any) -> None:
        return None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC: such strings sort like the times they name."""
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def not_found(order_id: str) -> NotFound:
    return NotFound(f"Order {order_id} was not found.", code="OrderNotFound")


def not_placed(order_id: str, status: Any) -> BadRequest:
    return BadRequest(f"Order {order_id} is {status}; only a PLACED order can be changed.",
                      code="OrderNotPlaced")


class OrderService:
    def __init__(self, repo: OrderRepository, clock: Clock = utc_now, cancel_window_seconds: int = 600,
                 metrics: Optional[MetricSink] = None,
                 idempotency_store: Optional[BasePersistenceLayer] = None,
                 idempotency_config: Optional[IdempotencyConfig] = None,
                 create_delay_seconds: float = 0.0) -> None:
        self._repo = repo
        self._clock = clock
        self._cancel_window = timedelta(seconds=cancel_window_seconds)
        self._metrics: MetricSink = metrics or _NoMetrics()
        self._create_delay = create_delay_seconds
        self._idempotency_config = idempotency_config
        self._create_once: Callable[..., Dict[str, Any]] = self._create
        if idempotency_store is not None:
            self._idempotency_config = idempotency_config or idempotency.make_config(3600)
            self._create_once = idempotency.make_idempotent(self._create, idempotency_store,
                                                            self._idempotency_config)

    # -- create ---------------------------------------------------------------------------

    def create(self, caller: Caller, order: NewOrder, lambda_context: Any = None) -> Dict[str, Any]:
        """Place `order` for the caller, at most once per (caller, orderId): a replay returns
        the first result; a different order under the same orderId is a 409."""
        if self._idempotency_config is not None and lambda_context is not None:
            self._idempotency_config.register_lambda_context(lambda_context)
        request = {"userId": caller.sub, "orderId": order.order_id, "requestHash": order.request_hash()}
        with idempotency.mapped_errors():
            return self._create_once(request=request, order=order)

    def _create(self, request: Mapping[str, str], order: NewOrder) -> Dict[str, Any]:
        if self._create_delay:
            time.sleep(self._create_delay)  # local test aid only (see settings)
        document = {"orderId": order.order_id, "userId": request["userId"], **order.canonical(),
                    "status": PLACED, "orderTime": format_time(self._clock())}
        existing = self._repo.put_new(document, request["requestHash"])
        if existing is None:
            self._metrics.add_metadata(key="orderId", value=order.order_id)  # ties the EMF line to its order
            self._metrics.add_metric(name="SuccessfulOrder", unit="Count", value=1)
            self._metrics.add_metric(name="OrderTotal", unit="None", value=float(order.total_amount))
            return present(document)
        if existing.request_hash == request["requestHash"]:
            return present(existing.document)  # the same request, retried after its idempotency record went
        raise Conflict("This orderId was already used for a different order.", code="IdempotencyKeyReused")

    # -- read -----------------------------------------------------------------------------

    def get(self, caller: Caller, order_id: str) -> Dict[str, Any]:
        document = self._repo.get(caller.sub, order_id)
        if document is None:
            raise not_found(order_id)
        return present(document)

    def list(self, caller: Caller, limit: int, next_token: Optional[str] = None) -> Dict[str, Any]:
        after = None
        if next_token is not None:
            after = decode_token(next_token, ("userId", "orderId"), fixed={"userId": caller.sub},
                                 valid={"orderId": valid_order_id})["orderId"]
        page = self._repo.query(caller.sub, limit, after)
        body: Dict[str, Any] = {"orders": [present(order) for order in page.orders]}
        if page.last_order_id is not None:
            body["nextToken"] = encode_token({"userId": caller.sub, "orderId": page.last_order_id})
        return body

    # -- changes --------------------------------------------------------------------------

    def edit(self, caller: Caller, order_id: str, edit: OrderEdit) -> Dict[str, Any]:
        """Change items, total or restaurant of a PLACED order; echoed server-owned fields
        must still hold."""
        if edit.expected.get("status", PLACED) != PLACED:
            # Doomed either way (only PLACED orders change): one read says which answer is right.
            outcome = UpdateOutcome(current=self._repo.get(caller.sub, order_id))
        else:
            changes = {**edit.changes, "updatedAt": format_time(self._clock())}
            outcome = self._repo.update(caller.sub, order_id, changes, {**edit.expected, "status": PLACED})
            if outcome.document is not None:
                self._metrics.add_metric(name="OrderEdited", unit="Count", value=1)
                return present(outcome.document)
        current = self._current_or_404(outcome, order_id)
        for field, value in edit.expected.items():
            if current.get(field) != value:
                raise BadRequest(f"{field} cannot be changed.", code=SERVER_OWNED_CODES[field])
        raise Conflict("The order changed while it was being edited; retry.")  # pragma: no cover

    def cancel(self, caller: Caller, order_id: str) -> Dict[str, Any]:
        """Cancel a PLACED order created at most CANCEL_WINDOW_SECONDS ago."""
        now = self._clock()
        outcome = self._repo.update(caller.sub, order_id,
                                    {"status": CANCELED, "updatedAt": format_time(now)},
                                    {"status": PLACED}, order_time_from=format_time(now - self._cancel_window))
        if outcome.document is not None:
            self._metrics.add_metric(name="OrderCanceled", unit="Count", value=1)
            return present(outcome.document)
        self._current_or_404(outcome, order_id)
        raise BadRequest(f"Order {order_id} can only be canceled within "
                         f"{int(self._cancel_window.total_seconds())} seconds of being placed.",
                         code="CancelWindowExpired")

    def acknowledge(self, caller: Caller, owner_id: str, order_id: str) -> Dict[str, Any]:
        """An admin acknowledges a user's PLACED order."""
        self.authorize_acknowledge(caller)
        outcome = self._repo.update(owner_id, order_id,
                                    {"status": ACKNOWLEDGED, "updatedAt": format_time(self._clock())},
                                    {"status": PLACED})
        if outcome.document is not None:
            self._metrics.add_metric(name="OrderAcknowledged", unit="Count", value=1)
            return present(outcome.document)
        self._current_or_404(outcome, order_id)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def authorize_acknowledge(caller: Caller) -> None:
        if not caller.is_admin:
            raise Forbidden("Only administrators can acknowledge orders.")

    @staticmethod
    def _current_or_404(outcome: UpdateOutcome, order_id: str) -> Dict[str, Any]:
        """The stored order a failed write returned: 404 when there is none, 400 OrderNotPlaced
        when it is not PLACED; otherwise the caller decides which other condition failed."""
        if outcome.current is None:
            raise not_found(order_id)
        if outcome.current.get("status") != PLACED:
            raise not_placed(order_id, outcome.current.get("status"))
        return outcome.current
