"""Orders unit-test fixtures: the app loaded once, in-memory storage, a fake clock, real tokens."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Dict, Iterator, Optional

import pytest

from chalicelib_shared.verifier import CognitoVerifier, JwksCache
from deploy.local.strict import StrictTestClient
from tests.support import tokens
from tests.support.apps import app_dir, app_module, use_app

ENV = {
    "ORDERS_TABLE": "orders-local",
    "IDEMPOTENCY_TABLE": "orders-idempotency-local",
    "USER_POOL_ARN": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_TestPool1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class MetricsRecorder:
    def __init__(self) -> None:
        self.added: list = []
        self.metadata: Dict[str, Any] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.added.append((name, value))

    def add_metadata(self, key: str, value: Any) -> None:
        self.metadata[key] = value

    def names(self) -> list:
        return [name for name, _ in self.added]


def order_body(order_id: str = "order-1", **overrides: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "orderId": order_id,
        "restaurantId": 1,
        "orderItems": [
            {"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1},
            {"id": 2, "name": "Pizza - SMALL", "price": 4.99, "quantity": 2},
        ],
        "totalAmount": 19.97,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture(scope="session")
def orders() -> SimpleNamespace:
    """The orders app's modules (loaded through tests.support.apps)."""
    app = use_app("orders_app", ENV)
    return SimpleNamespace(
        app=app,
        models=app_module("orders_app", "chalicelib.orders.models"),
        render=app_module("orders_app", "chalicelib.orders.render"),
        caller=app_module("orders_app", "chalicelib.shared.caller"),
        service=app_module("orders_app", "chalicelib.orders.service"),
        repository=app_module("orders_app", "chalicelib.orders.repository"),
        idempotency=app_module("orders_app", "chalicelib.orders.idempotency"),
        jsonutil=app_module("orders_app", "chalicelib.shared.jsonutil"),
        errors=app_module("orders_app", "chalicelib.shared.errors"),
    )


@pytest.fixture(autouse=True)
def _restore_parts(orders: SimpleNamespace) -> Iterator[None]:
    """Whatever parts a test installs (`app.root.install(app.compose(...))`) are put back afterwards."""
    saved = orders.app.root.parts
    yield
    orders.app.root.install(saved)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def repo(orders):
    return orders.repository.InMemoryOrdersRepository()


def failable_store(idempotency: Any) -> Any:
    """The app's in-memory idempotency store with a test-only switch: set `fail_with` to an exception
    and every call of the store raises it (an unreachable idempotency table). Lives here, not in
    what ships to Lambda."""

    class FailableStore(idempotency.InMemoryPersistenceLayer):  # type: ignore[name-defined,misc]
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


@pytest.fixture
def store(orders):
    return failable_store(orders.idempotency)


@pytest.fixture
def metrics() -> MetricsRecorder:
    return MetricsRecorder()


@pytest.fixture
def svc(orders, repo, clock, store, metrics):
    use_app("orders_app")
    return orders.service.OrdersService(repo, clock=clock, cancel_window_seconds=600, metrics=metrics,
                                       idempotency_store=store,
                                       idempotency_config=orders.idempotency.make_config(3600))


def caller(orders, sub: str = "user-a", admin: bool = False):
    return orders.caller.Caller(sub=sub, is_admin=admin)


@pytest.fixture
def api(orders, repo, clock, store):
    """A StrictTestClient on the real app (Cognito authorizer enforced with a test key), whose
    service runs over in-memory storage and the fake clock."""
    use_app("orders_app")
    orders.app.root.install(orders.app.compose(repo=repo, clock=clock, idempotency_store=store))
    fetch = tokens.fake_fetch(tokens.jwks_bytes())
    verifier = CognitoVerifier(tokens.ISSUER, tokens.CLIENT_ID, keys=JwksCache("http://keys.invalid/jwks", fetch=fetch))
    return StrictTestClient(orders.app.app, verifier, project_dir=app_dir("orders_app"))


def auth(sub: str = "user-a", groups: Any = None) -> Dict[str, str]:
    return {"Authorization": tokens.token(sub=sub, groups=groups), "Content-Type": "application/json"}
