"""One contract for every UsersRepository: the in-memory fake (unit, test_repository.py) and the
DynamoDB implementation on DynamoDB Local (integration, tests/integration/test_users_api.py).

A subclass provides the `contract_repo` fixture (an empty repository) and `repository_module`.
"""
from typing import Any

import pytest

T0 = "2026-01-01T00:00:00.000000+00:00"
T1 = "2026-01-01T00:01:00.000000+00:00"


def user(userid: str, name: str = "N", **extra: Any) -> Any:
    return {"userid": userid, "name": name, "createdAt": T0, "updatedAt": T0, "timestamp": T0, **extra}


class RepositoryContract:
    def test_get_missing_is_none(self, contract_repo: Any) -> None:
        assert contract_repo.get("nobody") is None

    def test_create_then_get(self, contract_repo: Any) -> None:
        stored = contract_repo.create(user("u1", email="a@b.co"))
        assert stored == user("u1", email="a@b.co")
        assert contract_repo.get("u1") == stored

    def test_create_existing_fails_with_the_old_item_and_keeps_it(self, contract_repo: Any,
                                                                  repository_module: Any) -> None:
        contract_repo.create(user("u1", "First"))
        with pytest.raises(repository_module.UserAlreadyExists) as info:
            contract_repo.create(user("u1", "Second"))
        assert info.value.existing == user("u1", "First")
        assert contract_repo.get("u1")["name"] == "First"

    def test_upsert_creates_then_updates_keeping_created_at(self, contract_repo: Any) -> None:
        created = contract_repo.upsert("u2", "A", "a@b.co", T0)
        assert created == {"userid": "u2", "name": "A", "email": "a@b.co", "createdAt": T0, "updatedAt": T0,
                           "timestamp": T0}
        updated = contract_repo.upsert("u2", "B", None, T1)
        assert updated == {"userid": "u2", "name": "B", "createdAt": T0, "updatedAt": T1, "timestamp": T1}
        assert contract_repo.get("u2") == updated

    def test_upsert_keeps_other_attributes_and_numbers(self, contract_repo: Any) -> None:
        from decimal import Decimal
        contract_repo.create({"userid": "legacy", "name": "Old", "timestamp": Decimal("1700000000.25")})
        out = contract_repo.upsert("legacy", "New", None, T1)
        assert out == {"userid": "legacy", "name": "New", "timestamp": T1, "updatedAt": T1, "createdAt": T1}
        contract_repo.create({"userid": "num", "name": "N", "score": Decimal("19.97")})
        assert contract_repo.get("num")["score"] == Decimal("19.97")

    def test_delete(self, contract_repo: Any) -> None:
        contract_repo.create(user("u3"))
        assert contract_repo.delete("u3") is True
        assert contract_repo.get("u3") is None
        assert contract_repo.delete("u3") is False

    def test_scan_pages_cover_everything_once(self, contract_repo: Any) -> None:
        ids = {f"s{i:02d}" for i in range(7)}
        for userid in ids:
            contract_repo.create(user(userid))
        seen = []
        start = None
        for _ in range(10):
            items, start = contract_repo.scan(3, start)
            assert len(items) <= 3
            seen += [item["userid"] for item in items]
            if start is None:
                break
            assert set(start) == {"userid"} and isinstance(start["userid"], str)
        assert sorted(seen) == sorted(ids)

    def test_scan_empty(self, contract_repo: Any) -> None:
        assert contract_repo.scan(10, None) == ([], None)
