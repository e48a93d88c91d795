"""Injectable clock: every time-dependent service reads time through a Clock.

Tests use FakeClock to move time; the device's "set date and time" moves an offset
rather than the host clock.
"""

from __future__ import annotations

import time

# The store key that keeps the device's offset from the host clock across restarts, as a
# real device's battery-backed clock keeps the time it was set to.
OFFSET_KEY = "clock.offset"


class Clock:
    """Wall clock with an adjustable offset (the device's own notion of time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        """Seconds since the epoch, as the device sees it."""
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()

    def set_time(self, epoch_seconds: float) -> None:
        self.offset = epoch_seconds - time.time()


class FakeClock(Clock):
    """A clock that only moves when a test moves it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        super().__init__()
        self._now = start
        self._mono = 1000.0

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set_time(self, epoch_seconds: float) -> None:
        self._now = epoch_seconds

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds
