# GENERATED from chalicelib_shared/init_phase.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""The init phase and CPython's cyclic garbage collector.

A function's init builds what lives as long as its execution environment: importing boto3, the
DynamoDB client with botocore's service model, the repository and the service. That is tens of
thousands of objects, none of them garbage, and the collector, which runs on allocation counts,
traverses them again and again while they are built, then in every later full collection.
`collector_paused()` stops the collector while the block builds them and, when the block succeeds,
moves everything alive to the permanent generation (`gc.freeze`, the pattern the gc documentation
gives for a process that is copied after its setup, as SnapStart copies a snapshot) before starting it
again: no collection during init, and none later that walks what init built. When the block fails,
the collector starts again and nothing is frozen.

Measured with `make bench` (README, "Performance"): a full collection after boto3 and its client are
built takes about 20 ms on the development machine, and the apps' init paid about 37 ms more than the
boto3 baseline; with the pause and the freeze the medians of b/c fell from 1.19 / 1.17 to 1.07 / 1.05
(users / orders).
"""
import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the collector stopped; freeze what is alive if the block succeeds."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
