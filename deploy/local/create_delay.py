"""A local test aid, never shipped: hold every order create for LOCAL_CREATE_DELAY_MS milliseconds.

The concurrency and fault suites (tests/integration/test_concurrency.py, test_faults.py, and the
reload test) need a create that is still running while its duplicates arrive, while its worker is
killed, or while a change is saved. They set LOCAL_CREATE_DELAY_MS in the stack's app environment
(`StackConfig.extra_app_env`). The orders app knows nothing of it: the strict local gateway
(`server.load_gateway`) calls `install(app_module)` after loading an app, which, for the orders app
and only when the variable is set, installs the parts the app composed again with the repository
wrapped in `SlowCreates`. The sleep is inside the idempotent create, after Powertools has written
the in-flight record and before the order is written, where the app used to sleep itself.
"""
import os
import time
from typing import Any, Dict, Mapping, Optional

ENV = "LOCAL_CREATE_DELAY_MS"
MAX_MS = 10_000


class SlowCreates:
    """An orders repository whose `put_new` (the write of a new order) sleeps first; every other
    method is the wrapped repository's."""

    def __init__(self, repo: Any, seconds: float) -> None:
        self._repo = repo
        self.seconds = seconds

    def put_new(self, document: Mapping[str, Any], request_hash: str) -> Any:
        time.sleep(self.seconds)
        return self._repo.put_new(document, request_hash)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)


def delay_ms(env: Optional[Mapping[str, str]] = None) -> int:
    """LOCAL_CREATE_DELAY_MS as an int (0 when unset or empty); anything but 0..MAX_MS is an error."""
    raw = (os.environ if env is None else env).get(ENV, "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > MAX_MS:
        raise ValueError(f"{ENV} must be an integer between 0 and {MAX_MS}, got {raw!r}")
    return int(raw)


def install(app_module: Any, env: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """Slow down the orders app's creates when LOCAL_CREATE_DELAY_MS is set; any other app, or no
    delay, is left as it is. Returns what it did (for the server's log line and tests)."""
    ms = delay_ms(env)
    if not ms or getattr(getattr(app_module, "app", None), "app_name", None) != "orders":
        return {}
    parts = app_module.root.parts
    slowed = app_module.compose(repo=SlowCreates(parts.repo, ms / 1000), clock=parts.clock,
                                idempotency_store=parts.idempotency_store)
    app_module.root.install(slowed.build())
    return {"create_delay_ms": ms}
