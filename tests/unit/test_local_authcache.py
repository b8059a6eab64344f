"""The strict gateway's authorizer cache (deploy/local/authcache.py), as API Gateway keeps it: a TOKEN
authorizer's result is cached per token for its TTL and judges later requests to every route; an
Unauthorized or a failure is not cached. Through the StrictTestClient with a deliberately narrow
policy (tests/support/narrow_app.py) on a fake clock, then the two stores' own contract."""
import multiprocessing
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from deploy.local.authcache import MAX_ENTRIES, MemoryAuthCache, SharedAuthCache, cache_key
from deploy.local.strict import StrictTestClient
from tests.support import narrow_app
from tests.support.clock import FakeMonotonic
from tests.support.http import assert_error, call

TTL = 300


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


def narrow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeMonotonic,
           ttl: str = str(TTL)) -> Dict[str, Any]:
    """The narrow app (its TTL from NARROW_TTL_SECONDS) and a strict client with a fake-clock cache."""
    monkeypatch.setenv("NARROW_TTL_SECONDS", ttl)
    namespace = narrow_app.load()
    client = StrictTestClient(namespace["app"], project_dir=str(tmp_path), auth_cache=MemoryAuthCache(clock))
    return {"client": client, "invocations": namespace["INVOCATIONS"]}


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeMonotonic) -> Iterator[Dict[str, Any]]:
    parts = narrow(monkeypatch, tmp_path, clock)
    with parts["client"]:
        yield parts


def test_a_policy_for_the_first_route_only_makes_the_second_route_a_403(app: Dict[str, Any]) -> None:
    first = call(app["client"], "GET", "/a", who="alice")
    assert first.status_code == 200, first.body
    assert_error(call(app["client"], "GET", "/b", who="alice"), 403, "Forbidden")
    assert_error(call(app["client"], "GET", "/b", who="alice"), 403, "Forbidden")
    again = call(app["client"], "GET", "/a", who="alice")
    assert again.status_code == 200
    assert len(app["invocations"]) == 1  # API Gateway invokes the authorizer once per token and TTL
    # the view sees the cached principal and context, those of the first (only) invocation
    assert again.data["authorizer"] == first.data["authorizer"] == {
        "route": "/a", "invocation": "1", "pid": first.data["authorizer"]["pid"], "principalId": "alice"}


def test_each_token_gets_its_own_evaluation(app: Dict[str, Any]) -> None:
    assert call(app["client"], "GET", "/a", who="alice").status_code == 200
    assert call(app["client"], "GET", "/b", who="bob").status_code == 200
    assert_error(call(app["client"], "GET", "/a", who="bob"), 403)
    # the identity source's value exactly as sent: another header value is another cache entry
    assert call(app["client"], "GET", "/b", who="Bearer alice").status_code == 200
    assert len(app["invocations"]) == 3


@pytest.mark.parametrize("token", ["deny", "explicit-deny"])
def test_a_cached_deny_stays_denied(app: Dict[str, Any], token: str) -> None:
    for path in ("/a", "/b", "/a"):
        assert_error(call(app["client"], "GET", path, who=token), 403, "Forbidden")
    assert len(app["invocations"]) == 1


def test_after_the_ttl_the_authorizer_is_invoked_again(app: Dict[str, Any], clock: FakeMonotonic) -> None:
    assert call(app["client"], "GET", "/a", who="alice").status_code == 200
    clock.now += TTL - 0.001
    assert_error(call(app["client"], "GET", "/b", who="alice"), 403)
    clock.now += 0.001  # the TTL has run out: a fresh policy, for /b this time
    fresh = call(app["client"], "GET", "/b", who="alice")
    assert fresh.status_code == 200 and fresh.data["authorizer"]["invocation"] == "2"
    assert_error(call(app["client"], "GET", "/a", who="alice"), 403)
    assert len(app["invocations"]) == 2


@pytest.mark.parametrize("token,status", [("unauthorized", 401), ("broken", 503)])
def test_an_unauthorized_or_a_failure_is_not_cached(app: Dict[str, Any], token: str, status: int) -> None:
    for path in ("/a", "/a", "/b"):
        assert_error(call(app["client"], "GET", path, who=token), status)
    assert len(app["invocations"]) == 3  # every request invoked the authorizer again


def test_ttl_zero_caches_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeMonotonic) -> None:
    parts = narrow(monkeypatch, tmp_path, clock, ttl="0")
    for path in ("/a", "/b", "/a"):
        assert call(parts["client"], "GET", path, who="alice").status_code == 200
    assert len(parts["invocations"]) == 3


def test_no_ttl_given_is_api_gateways_300_seconds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  clock: FakeMonotonic) -> None:
    parts = narrow(monkeypatch, tmp_path, clock, ttl="default")
    assert call(parts["client"], "GET", "/a", who="alice").status_code == 200
    clock.now += 299.9
    assert_error(call(parts["client"], "GET", "/b", who="alice"), 403)
    clock.now += 0.1
    assert call(parts["client"], "GET", "/b", who="alice").status_code == 200


# --- the stores ---------------------------------------------------------------------------------

@pytest.fixture(params=["memory", "shared"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeMonotonic) -> Any:
    if request.param == "memory":
        return MemoryAuthCache(clock, max_entries=3)
    return SharedAuthCache.create(tmp_path, clock=clock, max_entries=3)


RESULT = {"principalId": "p", "context": {"k": "v"}, "policyDocument": {"Statement": []}}


def test_entries_expire_by_their_ttl(store: Any, clock: FakeMonotonic) -> None:
    store.put("k1", RESULT, 10)
    assert store.get("k1") == RESULT and store.get("other") is None
    clock.now += 9.999
    assert store.get("k1") == RESULT
    clock.now += 0.001
    assert store.get("k1") is None


def test_a_get_returns_a_copy(store: Any) -> None:
    store.put("k1", RESULT, 10)
    store.get("k1")["context"]["principalId"] = "changed"  # what the gateway does with a result
    assert store.get("k1") == RESULT


def test_the_store_is_bounded_dropping_the_soonest_to_expire(store: Any, clock: FakeMonotonic) -> None:
    for i, ttl in enumerate([50, 10, 40, 30]):  # the fourth entry overflows max_entries=3
        store.put(f"k{i}", {"i": i}, ttl)
    assert [store.get(f"k{i}") for i in range(4)] == [{"i": 0}, None, {"i": 2}, {"i": 3}]
    clock.now += 45
    store.put("k4", {"i": 4}, 10)  # expired entries go first
    assert [store.get(f"k{i}") for i in range(5)] == [{"i": 0}, None, None, None, {"i": 4}]
    assert MAX_ENTRIES >= 1000


def _put_in_a_child(cache: SharedAuthCache) -> None:
    cache.put("from-child", RESULT, 10)


def test_the_shared_store_is_one_store_for_every_process(tmp_path: Path, clock: FakeMonotonic) -> None:
    """Created before forking, as the server's parent does; a worker's entry is every worker's."""
    cache = SharedAuthCache.create(tmp_path, clock=clock)
    cache.put("from-parent", RESULT, 10)  # the parent's connection must not be the child's
    child = multiprocessing.get_context("fork").Process(target=_put_in_a_child, args=(cache,))
    child.start()
    child.join(10)
    assert child.exitcode == 0
    assert cache.get("from-child") == RESULT and cache.get("from-parent") == RESULT


def test_no_token_reaches_the_file(tmp_path: Path) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.secret-token-body.signature"
    key = cache_key("users_authorizer", token)
    assert len(key) == 64 and token not in key and key != cache_key("other_authorizer", token)
    cache = SharedAuthCache.create(tmp_path)
    cache.put(key, RESULT, 10)
    for path in tmp_path.iterdir():
        assert b"secret-token-body" not in path.read_bytes() and "secret" not in path.name
