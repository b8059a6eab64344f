"""The orders idempotency store as tests need it: a store that can be told to fail, and the record
id Powertools derives for a create."""
import hashlib
import json
from typing import Any, Optional


def failable_store(idempotency: Any) -> Any:
    """The app's in-memory idempotency store (`idempotency` is chalicelib.orders.idempotency) with a
    test-only switch: set `fail_with` to an exception and every call of the store raises it (an
    unreachable idempotency table). Lives here, not in what ships to Lambda."""

    class FailableStore(idempotency.InMemoryPersistenceLayer):
        fail_with: Optional[Exception] = None

        def _check(self) -> None:
            if self.fail_with is not None:
                raise self.fail_with

        def _get_record(self, idempotency_key: str) -> Any:
            self._check()
            return super()._get_record(idempotency_key)

        def _put_record(self, data_record: Any) -> None:
            self._check()
            super()._put_record(data_record)

        def _update_record(self, data_record: Any) -> None:
            self._check()
            super()._update_record(data_record)

        def _delete_record(self, data_record: Any) -> None:
            self._check()
            super()._delete_record(data_record)

    return FailableStore()


def idempotency_key(user_id: str, order_id: str) -> str:
    """The record id Powertools derives from our key `[userId, orderId]` (prefix orders.create)."""
    digest = hashlib.md5(json.dumps([user_id, order_id], sort_keys=True).encode()).hexdigest()  # noqa: S324
    return f"orders.create#{digest}"
