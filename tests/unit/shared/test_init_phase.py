"""The init phase's collector pause (chalicelib_shared/init_phase.py): no collection while the block
builds, what it built frozen when it succeeds, nothing frozen when it fails, and the collector left as
the caller had it. What it saves at cold start is `make bench`'s to measure (README, "Performance")."""
import gc
from typing import Iterator, List

import pytest

from chalicelib_shared.init_phase import collector_paused


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def collector() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if not was_enabled:
        gc.disable()


def test_the_block_runs_uncollected_and_what_it_built_is_frozen() -> None:
    collections: List[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        with collector_paused():
            built = [Cycle() for _ in range(50_000)]  # many times any generation's threshold
            assert not gc.isenabled()
    finally:
        gc.callbacks.remove(count)
    assert collections == []
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)


def test_a_failed_block_freezes_nothing_and_restarts_the_collector() -> None:
    with pytest.raises(RuntimeError, match="init failed"):
        with collector_paused():
            raise RuntimeError("init failed")
    assert (gc.isenabled(), gc.get_freeze_count()) == (True, 0)


def test_a_collector_the_caller_had_stopped_stays_stopped() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
