"""The in-memory fake passes the repository contract (the DynamoDB side runs in the integration suite)."""
from typing import Any

import pytest

from tests.unit.users.repository_contract import RepositoryContract


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def repository_module(self, mod: Any) -> Any:
        return mod.repository

    @pytest.fixture
    def contract_repo(self, mod: Any) -> Any:
        return mod.repository.InMemoryUsersRepository()
