"""Business rules of the orders service, free of HTTP and of AWS specifics (storage is an
`OrdersRepository`, time an injectable clock, metrics any `MetricSink`).

Lifecycle: PLACED -> ACKNOWLEDGED (admin) and PLACED -> CANCELED (owner, within the cancel
window). Edits only while PLACED. Every change is one conditional write; when it fails, the
stored order that came back with the failure says why (404, or 400 with a specific code).
"""
import functools
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Union

from chalicelib.shared.caller import Caller
from chalicelib.shared.errors import BadRequest, Conflict, Forbidden, NotFound
from chalicelib.shared.pagination import decode_token, encode_token
from chalicelib.shared.ports import NO_METRICS, Clock, MetricSink, utc_now

from . import models, render
from .models import ACKNOWLEDGED, CANCELED, PLACED, format_time
from .repository import OrdersRepository, UpdateOutcome

if TYPE_CHECKING:  # at run time `.idempotency` (Powertools' idempotency package) comes with the first create
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig

# The idempotency store, or a function that builds it when the first create needs it.
IdempotencyStore = Union["BasePersistenceLayer", Callable[[], "BasePersistenceLayer"]]

def not_found(order_id: str) -> NotFound:
    return NotFound(f"Order {order_id} was not found.", code="OrderNotFound")


def not_placed(order_id: str, status: Any) -> BadRequest:
    return BadRequest(f"Order {order_id} is {status}; only a PLACED order can be changed.",
                      code="OrderNotPlaced")


class OrdersService:
    def __init__(self, repo: OrdersRepository, clock: Clock = utc_now, cancel_window_seconds: int = 600,
                 metrics: Optional[MetricSink] = None,
                 idempotency_store: Optional[IdempotencyStore] = None,
                 idempotency_config: Optional["IdempotencyConfig"] = None,
                 idempotency_expiry_seconds: int = 3600) -> None:
        self._repo = repo
        self._clock = clock
        self._cancel_window = timedelta(seconds=cancel_window_seconds)
        self._metrics: MetricSink = metrics or NO_METRICS
        self._idempotency_store = idempotency_store
        self._idempotency_config = idempotency_config
        self._idempotency_expiry_seconds = idempotency_expiry_seconds

    @functools.cached_property
    def _create_once(self) -> Callable[..., Dict[str, Any]]:
        """`_create`, at most once per key when there is an idempotency store (built on the first create,
        with the config made from `idempotency_expiry_seconds` unless one was given)."""
        if self._idempotency_store is None:
            return self._create
        from . import idempotency

        store = self._idempotency_store
        if not isinstance(store, idempotency.BasePersistenceLayer):
            store = store()
        if self._idempotency_config is None:
            self._idempotency_config = idempotency.make_config(self._idempotency_expiry_seconds)
        return idempotency.make_idempotent(self._create, store, self._idempotency_config)

    @staticmethod
    def require_admin(caller: Caller) -> None:
        if not caller.is_admin:
            raise Forbidden("Only administrators can acknowledge orders.")

    # -- read -----------------------------------------------------------------------------

    def list(self, caller: Caller, limit: int, next_token: Optional[str] = None) -> Dict[str, Any]:
        """One page of the caller's orders, with the token for the next one when more may follow."""
        start = decode_token(next_token, ("userId", "orderId"), fixed={"userId": caller.sub},
                             valid={"orderId": models.is_valid_order_id}) if next_token is not None else None
        page = self._repo.query(caller.sub, limit, start)
        return render.order_list(page.items, encode_token(page.last_key) if page.last_key else None)

    def get(self, caller: Caller, order_id: str) -> Dict[str, Any]:
        document = self._repo.get(caller.sub, order_id)
        if document is None:
            raise not_found(order_id)
        return render.order(document)

    # -- changes --------------------------------------------------------------------------

    def create(self, caller: Caller, order: models.NewOrder, lambda_context: Any = None) -> Dict[str, Any]:
        """Place `order` for the caller, at most once per (caller, orderId): a replay returns
        the first result; a different order under the same orderId is a 409."""
        from . import idempotency

        create_once = self._create_once
        if self._idempotency_config is not None and lambda_context is not None:
            self._idempotency_config.register_lambda_context(lambda_context)
        request = {"userId": caller.sub, "orderId": order.order_id, "requestHash": order.request_hash()}
        with idempotency.mapped_errors():
            return create_once(request=request, order=order)

    def _create(self, request: Mapping[str, str], order: models.NewOrder) -> Dict[str, Any]:
        document = {"orderId": order.order_id, "userId": request["userId"], **order.canonical(),
                    "status": PLACED, "orderTime": format_time(self._clock())}
        existing = self._repo.put_new(document, request["requestHash"])
        if existing is None:
            self._metrics.add_metadata(key="orderId", value=order.order_id)  # ties the EMF line to its order
            self._metrics.add_metric(name="SuccessfulOrder", unit="Count", value=1)
            self._metrics.add_metric(name="OrderTotal", unit="None", value=float(order.total_amount))
            return render.order(document)
        if existing.request_hash == request["requestHash"]:
            return render.order(existing.document)  # the same request, retried after its idempotency record went
        raise Conflict("This orderId was already used for a different order.", code="IdempotencyKeyReused")

    def edit(self, caller: Caller, order_id: str, edit: models.OrderEdit) -> Dict[str, Any]:
        """Change items, total or restaurant of a PLACED order; echoed server-owned fields
        must still hold (their rule: models.py)."""
        edit.require_unchanged_keys(order_id, caller.sub)
        if edit.expected.get("status", PLACED) != PLACED:
            # Doomed either way (only PLACED orders change): one read says which answer is right.
            outcome = UpdateOutcome(current=self._repo.get(caller.sub, order_id))
        else:
            changes = {**edit.changes, "updatedAt": format_time(self._clock())}
            outcome = self._repo.update(caller.sub, order_id, changes, {**edit.expected, "status": PLACED})
            if outcome.document is not None:
                self._metrics.add_metric(name="OrderEdited", unit="Count", value=1)
                return render.order(outcome.document)
        edit.require_unchanged_state(self._current_or_404(outcome, order_id))
        raise Conflict("The order changed while it was being edited; retry.")  # pragma: no cover

    def cancel(self, caller: Caller, order_id: str) -> Dict[str, Any]:
        """Cancel a PLACED order created at most CANCEL_WINDOW_SECONDS ago."""
        now = self._clock()
        outcome = self._repo.update(caller.sub, order_id,
                                    {"status": CANCELED, "updatedAt": format_time(now)},
                                    {"status": PLACED}, order_time_from=format_time(now - self._cancel_window))
        if outcome.document is not None:
            self._metrics.add_metric(name="OrderCanceled", unit="Count", value=1)
            return render.order(outcome.document)
        self._current_or_404(outcome, order_id)
        raise BadRequest(f"Order {order_id} can only be canceled within "
                         f"{int(self._cancel_window.total_seconds())} seconds of being placed.",
                         code="CancelWindowExpired")

    def acknowledge(self, caller: Caller, owner_id: str, order_id: str) -> Dict[str, Any]:
        """An admin acknowledges a user's PLACED order."""
        self.require_admin(caller)
        outcome = self._repo.update(owner_id, order_id,
                                    {"status": ACKNOWLEDGED, "updatedAt": format_time(self._clock())},
                                    {"status": PLACED})
        if outcome.document is not None:
            self._metrics.add_metric(name="OrderAcknowledged", unit="Count", value=1)
            return render.order(outcome.document)
        self._current_or_404(outcome, order_id)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _current_or_404(outcome: UpdateOutcome, order_id: str) -> Dict[str, Any]:
        """The stored order a failed write returned: 404 when there is none, 400 OrderNotPlaced
        when it is not PLACED; otherwise the caller decides which other condition failed."""
        if outcome.current is None:
            raise not_found(order_id)
        if outcome.current.get("status") != PLACED:
            raise not_placed(order_id, outcome.current.get("status"))
        return outcome.current
