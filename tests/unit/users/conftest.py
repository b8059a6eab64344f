"""Fixtures for the users service unit tests: the app loaded with test settings, an in-memory
repository, a fake clock and a verifier that trusts a test RSA key."""
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

from tests.support import tokens
from tests.support.apps import app_dir, app_module, load_app, use_app
from tests.support.clock import FakeClock

START = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def users_app() -> Any:
    return load_app("users_app")


@pytest.fixture
def mod(users_app: Any) -> Any:
    """Namespace of the app's modules (always the users app, even after another app was loaded)."""
    use_app("users_app")

    class M:
        app = users_app
        service = app_module("users_app", "chalicelib.users.service")
        repository = app_module("users_app", "chalicelib.users.repository")
        models = app_module("users_app", "chalicelib.users.models")
        render = app_module("users_app", "chalicelib.users.render")
        caller = app_module("users_app", "chalicelib.shared.caller")
        auth = app_module("users_app", "chalicelib.users.auth")
        verifier = app_module("users_app", "chalicelib.shared.verifier")
        jwks = app_module("users_app", "chalicelib.shared.jwks")
        errors = app_module("users_app", "chalicelib.shared.errors")
    return M


@pytest.fixture(autouse=True)
def _restore_parts(users_app: Any) -> Iterator[None]:
    """Whatever parts a test installs (`app.root.install(app.compose(...))`) are put back afterwards."""
    saved = users_app.root.parts
    yield
    users_app.root.install(saved)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def repo(mod: Any) -> Any:
    return mod.repository.InMemoryUsersRepository()


@pytest.fixture
def test_verifier(mod: Any) -> Any:
    return tokens.verifier(mod.verifier.CognitoVerifier, mod.jwks.JwksClient)


@pytest.fixture
def client(mod: Any, repo: Any, clock: FakeClock, test_verifier: Any) -> Iterator[Any]:
    strict = pytest.importorskip("deploy.local.strict")
    mod.app.root.install(mod.app.compose(repo=repo, clock=clock, verifier=test_verifier))
    with strict.StrictTestClient(mod.app.app, project_dir=app_dir("users_app")) as c:
        yield c
