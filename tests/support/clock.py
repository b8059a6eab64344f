"""Fake clocks: `FakeClock` for the services (aware datetimes, the apps' `Clock` port) and
`FakeMonotonic` for code that takes a float-seconds clock (the authorizer cache) or
reads `time.monotonic` itself (pyjwt's key client: `as_process_clock`)."""
import time
from datetime import datetime, timedelta

import pytest


class FakeClock:
    """Returns `now` until a test moves it: `advance(minutes=9, seconds=59)` (timedelta's keywords)
    or sets `now` outright."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeMonotonic:
    """A float-seconds clock (time.monotonic's kind) that stays at `now` until a test changes it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def as_process_clock(self, monkeypatch: pytest.MonkeyPatch) -> "FakeMonotonic":
        """Stand in for `time.monotonic` until the test ends (for code that takes no clock)."""
        monkeypatch.setattr(time, "monotonic", self)
        return self
