"""Powertools idempotency for order creation: the serializer, the error mapping, and an
in-memory persistence layer for tests (it follows DynamoDBPersistenceLayer's conditional-put
semantics, including handing the old record back on a failed put).

The idempotency key is `[userId, orderId]` (so two users never share a record) and the payload
check compares the normalised order's hash (so equivalent bodies count as the same request).
"""
import contextlib
import datetime as dt
import threading
from typing import Any, Callable, Dict, Iterator

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer

from chalicelib.shared.errors import Conflict, ServiceUnavailable
from chalicelib.shared.jsonutil import dumps, loads_strict

KEY_PREFIX = "orders.create"
EVENT_KEY = "[userId, orderId]"
PAYLOAD_KEY = "requestHash"
RETRY_AFTER_SECONDS = 1


class RenderedJsonSerializer(BaseIdempotencySerializer):
    """Stores the document as its rendered JSON, so a replay renders byte for byte the same
    (Powertools' own encoder would turn Decimals into strings)."""

    def to_dict(self, data: Any) -> Dict[str, Any]:
        return {"json": dumps(data)}

    def from_dict(self, data: Dict[str, Any]) -> Any:
        return loads_strict(data["json"])


def make_config(expires_after_seconds: int) -> IdempotencyConfig:
    return IdempotencyConfig(event_key_jmespath=EVENT_KEY, payload_validation_jmespath=PAYLOAD_KEY,
                             raise_on_no_idempotency_key=True, expires_after_seconds=expires_after_seconds)


def make_idempotent(function: Callable[..., Any], persistence: BasePersistenceLayer,
                    config: IdempotencyConfig) -> Callable[..., Any]:
    """`function(request={"userId", "orderId", "requestHash"}, ...)`, run at most once per key."""
    return idempotent_function(function, data_keyword_argument="request", persistence_store=persistence,
                               config=config, output_serializer=RenderedJsonSerializer(),
                               key_prefix=KEY_PREFIX)


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    """Powertools' idempotency exceptions as the API's errors."""
    try:
        yield
    except IdempotencyValidationError:
        raise Conflict("This orderId was already used for a different order.",
                       code="IdempotencyKeyReused") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("The same order is being created right now; retry shortly.", code="RequestInProgress",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError):
        raise ServiceUnavailable(code="IdempotencyUnavailable", retry_after=RETRY_AFTER_SECONDS) from None


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """Idempotency records in a dict, with DynamoDBPersistenceLayer's put condition: a record
    can be (re)placed only when absent, expired, or in progress past its in-progress expiry."""

    def __init__(self) -> None:
        super().__init__()
        self.records: Dict[str, DataRecord] = {}
        self._lock = threading.Lock()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._lock:
            record = self.records.get(idempotency_key)
        if record is None:
            raise IdempotencyItemNotFoundError()
        return record

    def _put_record(self, data_record: DataRecord) -> None:
        now = dt.datetime.now().timestamp()
        with self._lock:
            old = self.records.get(data_record.idempotency_key)
            if old is None:
                self.records[data_record.idempotency_key] = data_record
                return
            replaceable = ((old.expiry_timestamp or 0) < int(now) or (
                old.status == STATUS_CONSTANTS["INPROGRESS"] and old.in_progress_expiry_timestamp is not None
                and old.in_progress_expiry_timestamp < int(now * 1000)))
            if replaceable:
                self.records[data_record.idempotency_key] = data_record
                return
        self._validate_payload(data_payload=data_record, stored_data_record=old)
        raise IdempotencyItemAlreadyExistsError(old_data_record=old)

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.records.pop(data_record.idempotency_key, None)
