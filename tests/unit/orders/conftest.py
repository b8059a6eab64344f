"""Orders unit-test fixtures: the app loaded once, in-memory storage, a fake clock, real tokens."""
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from chalicelib_shared.jwks import JwksClient
from chalicelib_shared.verifier import CognitoVerifier
from deploy.local.strict import StrictTestClient
from tests.support import tokens
from tests.support.apps import app_dir, app_module, load_app, use_app
from tests.support.clock import FakeClock
from tests.support.idempotency import failable_store
from tests.support.metrics import MetricsRecorder

START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def orders() -> SimpleNamespace:
    """The orders app's modules (loaded through tests.support.apps)."""
    app = load_app("orders_app")
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
    return FakeClock(START)


@pytest.fixture
def repo(orders: SimpleNamespace) -> Any:
    return orders.repository.InMemoryOrdersRepository()


@pytest.fixture
def store(orders: SimpleNamespace) -> Any:
    return failable_store(orders.idempotency)


@pytest.fixture
def metrics() -> MetricsRecorder:
    return MetricsRecorder()


@pytest.fixture
def svc(orders: SimpleNamespace, repo: Any, clock: FakeClock, store: Any, metrics: MetricsRecorder) -> Any:
    use_app("orders_app")
    return orders.service.OrdersService(repo, clock=clock, cancel_window_seconds=600, metrics=metrics,
                                        idempotency_store=store,
                                        idempotency_config=orders.idempotency.make_config(3600))


@pytest.fixture
def api(orders: SimpleNamespace, repo: Any, clock: FakeClock, store: Any) -> Any:
    """A StrictTestClient on the real app (Cognito authorizer enforced with a test key), whose
    service runs over in-memory storage and the fake clock."""
    use_app("orders_app")
    orders.app.root.install(orders.app.compose(repo=repo, clock=clock, idempotency_store=store))
    return StrictTestClient(orders.app.app, tokens.verifier(CognitoVerifier, JwksClient),
                            project_dir=app_dir("orders_app"))
