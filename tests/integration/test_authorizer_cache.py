"""The authorizer cache over HTTP: one cache for every worker of an API server (a worker of its own
would let a request that lands on the other worker pass by luck), and the real users authorizer's
cached policy serving every route its caller may call."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, List

import pytest
import requests

from tests.support import narrow_app
from tests.support.http import assert_error, call
from tests.support.serving import serving, worker_pids
from tests.support.stack import StackHandle

pytestmark = pytest.mark.integration

WORKERS = 2


def get_until_every_worker_answered(url: str, token: str, output: Callable[[], str], request: str) -> List[int]:
    """GET `url` with `token` in concurrent rounds until every worker has logged `request` in the
    server's `output()` (for at most 20 s); returns every status seen."""
    statuses: List[int] = []
    deadline = time.monotonic() + 20
    with ThreadPoolExecutor(8) as pool:
        while len(worker_pids(output(), request)) < WORKERS and time.monotonic() < deadline:
            statuses += pool.map(lambda _: requests.get(url, headers={"Authorization": token}, timeout=10)
                                 .status_code, range(16))
    assert len(worker_pids(output(), request)) == WORKERS, output()[-2000:]
    return statuses


def test_every_worker_judges_a_token_by_the_one_cached_policy(tmp_path: Path) -> None:
    """The narrow authorizer allows only the route it was invoked for. With the cache shared, the
    first request's policy (route A) is the one every worker applies: B is a 403 on each of them,
    and the authorizer ran once for the token; another token gets its own evaluation."""
    with serving(tmp_path, "narrow", narrow_app.SOURCE, workers=WORKERS) as (port, log):
        base, token = f"http://127.0.0.1:{port}", f"token-{uuid.uuid4().hex}"
        first = call(base, "GET", "/a", who=token)
        assert first.status_code == 200, first.text
        statuses = get_until_every_worker_answered(f"{base}/b", token, log.read_text, '"GET /b HTTP/1.1" 403')
        assert set(statuses) == {403}, statuses
        assert log.read_text().count(f"narrow-authorizer invoked pid={first.json()['pid']} token={token}\n") == 1
        assert log.read_text().count(f"token={token}\n") == 1  # no other worker invoked it
        other = f"token-{uuid.uuid4().hex}"
        assert call(base, "GET", "/b", who=other).status_code == 200
        assert_error(call(base, "GET", "/a", who=other), 403)
        assert_error(call(base, "GET", "/b", who="unauthorized"), 401)
        assert_error(call(base, "GET", "/b", who="unauthorized"), 401)
        assert log.read_text().count("token=unauthorized\n") == 2  # a 401 is not cached


def test_a_regular_users_cached_policy_serves_every_route_they_may_call(stack: StackHandle) -> None:
    """The real users authorizer: a token's first request is one it may not make (its policy is
    cached there), and still every route the user may call answers 200, other users' records 403."""
    me, someone = stack.new_user(), stack.new_user()
    base = stack.users_url
    assert_error(call(base, "GET", "/users", who=me), 403)
    assert call(base, "PUT", f"/users/{me.sub}", {"name": "Me"}, who=me).status_code == 200
    assert call(base, "GET", f"/users/{me.sub}", who=me).status_code == 200
    assert_error(call(base, "GET", f"/users/{someone.sub}", who=me), 403)
    assert_error(call(base, "POST", "/users", {"name": "Nope"}, who=me), 403)
    assert call(base, "DELETE", f"/users/{me.sub}", who=me).status_code == 200


def test_a_cached_users_policy_is_every_workers(stack: StackHandle, local_stack_only: None) -> None:
    """The first request is another user's record (403: the policy is cached there); then the
    user's own record answers 200 on every worker of the users API."""
    me, someone = stack.new_user(), stack.new_user()
    assert_error(call(stack.users_url, "GET", f"/users/{someone.sub}", who=me), 403)
    assert call(stack.users_url, "PUT", f"/users/{me.sub}", {"name": "Me"}, who=me).status_code == 200
    statuses = get_until_every_worker_answered(f"{stack.users_url}/users/{me.sub}", me.id_token,
                                               lambda: stack.server_output("users_app"),
                                               f'"GET /users/{me.sub} HTTP/1.1" 200')
    assert set(statuses) == {200}, statuses
