"""Business rules against the in-memory repository and a fake clock (no HTTP, no AWS)."""
from typing import Any

import pytest


@pytest.fixture
def svc(mod: Any, repo: Any, clock: Any) -> Any:
    ids = iter(f"generated-{i}" for i in range(100))
    return mod.service.UsersService(repo, clock=clock, new_id=lambda: next(ids))


@pytest.fixture
def admin(mod: Any) -> Any:
    return mod.caller.Caller("admin-1", True)


@pytest.fixture
def user(mod: Any) -> Any:
    return mod.caller.Caller("user-1", False)


def create(mod: Any, **fields: Any) -> Any:
    return mod.models.parse_create({"name": "N", **fields})


def test_create_stamps_times_and_generates_an_id(svc: Any, mod: Any, admin: Any) -> None:
    user = svc.create(admin, create(mod, email="a@b.co"))
    assert user == {"userid": "generated-0", "name": "N", "email": "a@b.co",
                    "createdAt": "2026-01-02T03:04:05.678901+00:00", "updatedAt": "2026-01-02T03:04:05.678901+00:00",
                    "timestamp": "2026-01-02T03:04:05.678901+00:00"}


def test_create_never_overwrites(svc: Any, mod: Any, admin: Any, repo: Any) -> None:
    first = svc.create(admin, create(mod, userid="fixed"))
    with pytest.raises(mod.errors.Conflict) as info:
        svc.create(admin, mod.models.parse_create({"name": "Other", "userid": "fixed"}))
    assert info.value.code == "UserExists" and info.value.status == 409
    assert repo.items["fixed"] == first


def test_only_admins_create_and_list(svc: Any, mod: Any, user: Any) -> None:
    with pytest.raises(mod.errors.Forbidden):
        svc.create(user, create(mod))
    with pytest.raises(mod.errors.Forbidden):
        svc.list(user, 10, None)


def test_owner_or_admin_for_single_records(svc: Any, mod: Any, admin: Any, user: Any) -> None:
    update = mod.models.parse_update({"name": "Me"}, "user-1")
    assert svc.put(user, "user-1", update)["name"] == "Me"
    assert svc.get(user, "user-1")["name"] == "Me"
    assert svc.get(admin, "user-1")["name"] == "Me"
    for action in (lambda: svc.get(user, "user-2"), lambda: svc.delete(user, "user-2"),
                   lambda: svc.put(user, "user-2", update)):
        with pytest.raises(mod.errors.Forbidden):
            action()
    svc.delete(user, "user-1")
    with pytest.raises(mod.errors.NotFound):
        svc.get(admin, "user-1")
    with pytest.raises(mod.errors.NotFound):
        svc.delete(admin, "user-1")


def test_put_upserts_and_keeps_created_at(svc: Any, mod: Any, user: Any, clock: Any) -> None:
    first = svc.put(user, "user-1", mod.models.parse_update({"name": "A", "email": "a@b.co"}, "user-1"))
    clock.advance(seconds=3600)
    second = svc.put(user, "user-1", mod.models.parse_update({"name": "B", "email": None}, "user-1"))
    assert second["createdAt"] == first["createdAt"] == "2026-01-02T03:04:05.678901+00:00"
    assert second["updatedAt"] == second["timestamp"] == "2026-01-02T04:04:05.678901+00:00"
    assert second["name"] == "B" and "email" not in second


def test_put_keeps_unknown_workshop_attributes(svc: Any, mod: Any, admin: Any, repo: Any) -> None:
    repo.items["old"] = {"userid": "old", "name": "X", "legacy": "kept"}
    out = svc.put(admin, "old", mod.models.parse_update({"name": "Y"}, "old"))
    assert out["legacy"] == "kept" and out["name"] == "Y" and out["createdAt"] == out["updatedAt"]


def test_list_pages_with_opaque_tokens(svc: Any, mod: Any, admin: Any, repo: Any) -> None:
    for i in range(5):
        repo.items[f"u{i}"] = {"userid": f"u{i}", "name": "n"}
    page, token = svc.list(admin, 2, None)
    seen = [u["userid"] for u in page]
    while token:
        page, token = svc.list(admin, 2, token)
        seen += [u["userid"] for u in page]
    assert seen == ["u0", "u1", "u2", "u3", "u4"]
    with pytest.raises(mod.errors.BadRequest) as info:
        svc.list(admin, 2, "not-a-token")
    assert info.value.code == "InvalidNextToken"


def test_timestamps_must_be_aware(mod: Any) -> None:
    from datetime import datetime
    with pytest.raises(ValueError):
        mod.models.format_time(datetime(2026, 1, 1))


def test_caller_from_authorizer_context(mod: Any) -> None:
    context = {"authorizer": {"principalId": "p", "sub": "p", "isAdmin": "true"}}
    caller = mod.caller.Caller.from_custom_authorizer(context)
    assert caller == mod.caller.Caller("p", True)
    assert not mod.caller.Caller.from_custom_authorizer({"authorizer": {"principalId": "p"}}).is_admin
    with pytest.raises(mod.errors.Unauthorized):
        mod.caller.Caller.from_custom_authorizer({"authorizer": {"principalId": ""}})
