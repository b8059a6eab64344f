"""The in-memory fake passes the repository contract (the DynamoDB side runs in the integration suite)."""
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.stub import Stubber

from tests.unit.users.repository_contract import RepositoryContract


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def repository_module(self, mod: Any) -> Any:
        return mod.repository

    @pytest.fixture
    def contract_repo(self, mod: Any) -> Any:
        return mod.repository.InMemoryUsersRepository()


def test_a_create_retried_after_its_first_attempt_was_applied_succeeds(mod):
    """The SDK retries a put that was applied but timed out: the item found is ours, not a conflict."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    repo = mod.repository.DynamoUsersRepository(client, "users")
    user = {"userid": "u-1", "name": "Ada", "createdAt": "2026-01-01T00:00:00.000001+00:00"}
    other = {**user, "createdAt": "2026-01-01T00:00:00.000002+00:00"}
    serialize = TypeSerializer().serialize
    with Stubber(client) as stubber:
        for stored in (user, other):
            stubber.add_client_error("put_item", service_error_code="ConditionalCheckFailedException",
                                     http_status_code=400,
                                     modeled_fields={"Item": {k: serialize(v) for k, v in stored.items()}})
        assert repo.create(user) == user
        with pytest.raises(mod.repository.UserAlreadyExists):
            repo.create(user)
