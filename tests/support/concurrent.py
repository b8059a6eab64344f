"""Requests in parallel, with client-side timings, for the concurrency and fault suites.

A `Call` is one prepared request (`tests.support.http.call` over HTTP); calling it sends it and keeps
the response or the transport error, and when it started and ended. `fire` releases several calls
at once; `frozen` holds a process stopped (SIGSTOP: a hang, not a crash) for a while.
"""
import contextlib
import json
import os
import signal
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import requests

from tests.support.http import call
from tests.support.stack import StackHandle

TIMEOUT = 20.0  # a held create (LOCAL_CREATE_DELAY_MS) or a hung DynamoDB answers well within this


class Call:
    """One request with its client-side timing."""

    def __init__(self, method: str, url: str, token: Optional[str], body: Any = None,
                 timeout: float = TIMEOUT) -> None:
        self.method, self.url, self.token, self.body, self.timeout = method, url, token, body, timeout
        self.response: Optional[requests.Response] = None
        self.error: Optional[BaseException] = None
        self.started = self.ended = 0.0

    def __call__(self) -> "Call":
        self.started = time.time()
        try:
            self.response = call(self.url, self.method, body=self.body, who=self.token, timeout=self.timeout)
        except requests.RequestException as exc:
            self.error = exc
        self.ended = time.time()
        return self

    @property
    def status(self) -> Optional[int]:
        return self.response.status_code if self.response is not None else None

    def json(self) -> Any:
        assert self.response is not None, self.error
        return json.loads(self.response.content, parse_float=Decimal)


class _DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)  # only 2-decimal literals here: float renders them exactly
        return super().default(o)


def orders_call(h: StackHandle, method: str, path: str, token: Optional[str], body: Any = None) -> Call:
    """A Call to the orders API (`body` may hold Decimals)."""
    prepared = Call(method, h.orders_url + path, token, None)
    prepared.body = None if body is None else json.loads(json.dumps(body, cls=_DecimalEncoder))
    return prepared


def fire(calls: Sequence[Callable[[], Any]], start_gap: float = 0.0) -> None:
    """Run the calls on one thread each, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(prepared: Callable[[], Any], i: int) -> None:
        barrier.wait()
        if start_gap:
            time.sleep(start_gap * i)
        prepared()
    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)


def _all_threads_stopped(pid: int) -> bool:
    """Every thread of `pid` is in the stopped state (/proc/<pid>/task/*/stat: state T)."""
    try:
        states = [Path(task, "stat").read_text().rsplit(")", 1)[1].split()[0]
                  for task in Path(f"/proc/{pid}/task").iterdir()]
    except (OSError, IndexError):
        return False
    return bool(states) and all(state in ("T", "t") for state in states)


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """SIGSTOP a process (a hang, not a crash), wait until every thread of it has stopped (delivery is
    asynchronous: on a busy machine a JVM thread can still answer a request after kill() returns), and
    always SIGCONT it again."""
    os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 2.0
        while not _all_threads_stopped(pid):
            assert time.monotonic() < deadline, f"process {pid} did not stop within 2 s of SIGSTOP"
            time.sleep(0.001)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
