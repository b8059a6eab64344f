"""One contract for every UsersRepository (users_app/chalicelib/users/repository.py): each case runs
once against the in-memory fake and once against the DynamoDB implementation on DynamoDB Local, in a
table of its own (`repo[in_memory]`, `repo[dynamodb]`; the DynamoDB cases are marked `integration`,
so `make test-unit` leaves them out and starts no stack). Then the DynamoDB implementation alone,
against a stubbed client: a write the SDK retried after its first attempt was applied.
"""
from decimal import Decimal
from types import ModuleType
from typing import Any, Dict, Iterator

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.stub import Stubber

from tests.support.apps import app_module, load_app
from tests.support.storage import BACKENDS, contract_repository

T0 = "2026-01-01T00:00:00.000000+00:00"
T1 = "2026-01-01T00:01:00.000000+00:00"


def user(userid: str, name: str = "N", **extra: Any) -> Dict[str, Any]:
    return {"userid": userid, "name": name, "createdAt": T0, "updatedAt": T0, "timestamp": T0, **extra}


@pytest.fixture(scope="module")
def repository() -> ModuleType:
    """The users app's repository module."""
    load_app("users_app")
    return app_module("users_app", "chalicelib.users.repository")


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest, repository: ModuleType) -> Iterator[Any]:
    """An empty repository: the in-memory fake, or DynamoDB's on a new table in the local stack."""
    yield from contract_repository(request, "users_app", repository.InMemoryUsersRepository,
                                   repository.DynamoUsersRepository, "UsersTable")


# -- the contract -------------------------------------------------------------------------

def test_get_missing_is_none(repo: Any) -> None:
    assert repo.get("nobody") is None


def test_create_then_get(repo: Any) -> None:
    stored = repo.create(user("u1", email="a@b.co"))
    assert stored == user("u1", email="a@b.co")
    assert repo.get("u1") == stored


def test_create_existing_fails_with_the_old_item_and_keeps_it(repo: Any, repository: ModuleType) -> None:
    repo.create(user("u1", "First"))
    with pytest.raises(repository.UserAlreadyExists) as info:
        repo.create(user("u1", "Second"))
    assert info.value.existing == user("u1", "First")
    assert repo.get("u1")["name"] == "First"


def test_upsert_creates_then_updates_keeping_created_at(repo: Any) -> None:
    created = repo.upsert("u2", "A", "a@b.co", T0)
    assert created == {"userid": "u2", "name": "A", "email": "a@b.co", "createdAt": T0, "updatedAt": T0,
                       "timestamp": T0}
    updated = repo.upsert("u2", "B", None, T1)
    assert updated == {"userid": "u2", "name": "B", "createdAt": T0, "updatedAt": T1, "timestamp": T1}
    assert repo.get("u2") == updated


def test_upsert_keeps_other_attributes_and_numbers(repo: Any) -> None:
    repo.create({"userid": "legacy", "name": "Old", "timestamp": Decimal("1700000000.25")})
    out = repo.upsert("legacy", "New", None, T1)
    assert out == {"userid": "legacy", "name": "New", "timestamp": T1, "updatedAt": T1, "createdAt": T1}
    repo.create({"userid": "num", "name": "N", "score": Decimal("19.97")})
    assert repo.get("num")["score"] == Decimal("19.97")


def test_delete(repo: Any) -> None:
    repo.create(user("u3"))
    assert repo.delete("u3") is True
    assert repo.get("u3") is None
    assert repo.delete("u3") is False


def test_scan_pages_cover_everything_once(repo: Any) -> None:
    ids = {f"s{i:02d}" for i in range(7)}
    for userid in ids:
        repo.create(user(userid))
    seen = []
    start = None
    for _ in range(10):
        items, start = repo.scan(3, start)
        assert len(items) <= 3
        seen += [item["userid"] for item in items]
        if start is None:
            break
        assert set(start) == {"userid"} and isinstance(start["userid"], str)
    assert sorted(seen) == sorted(ids)


def test_scan_empty(repo: Any) -> None:
    assert repo.scan(10, None) == ([], None)


# -- the DynamoDB implementation against a stubbed client -----------------------------------

def test_a_create_retried_after_its_first_attempt_was_applied_succeeds(repository: ModuleType) -> None:
    """The SDK retries a put that was applied but timed out: the item found is ours, not a conflict."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    repo = repository.DynamoUsersRepository(client, "users")
    stored_user = {"userid": "u-1", "name": "Ada", "createdAt": "2026-01-01T00:00:00.000001+00:00"}
    other = {**stored_user, "createdAt": "2026-01-01T00:00:00.000002+00:00"}
    serialize = TypeSerializer().serialize
    with Stubber(client) as stubber:
        for stored in (stored_user, other):
            stubber.add_client_error("put_item", service_error_code="ConditionalCheckFailedException",
                                     http_status_code=400,
                                     modeled_fields={"Item": {k: serialize(v) for k, v in stored.items()}})
        assert repo.create(stored_user) == stored_user
        with pytest.raises(repository.UserAlreadyExists):
            repo.create(stored_user)
