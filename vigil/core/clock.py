"""Injectable clock: every time-dependent service reads time through a Clock.

The device's time is an offset over the host clock: "set date and time" and NTP move the offset,
never the host clock. A correction is applied at once (`step`) or spread over time (`slew`): a
slewed clock runs up to `MAX_SLEW_RATE` faster or slower until the correction is done, so the
device's time never jumps and never runs backwards, as a disciplined system clock does.

Tests use FakeClock to move time; its slewing follows its own monotonic time.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

# The store key that keeps the device's offset from the host clock across restarts, as a
# real device's battery-backed clock keeps the time it was set to.
OFFSET_KEY = "clock.offset"
# The dates the device's clock may show: every date it shows, logs and records then has a
# four-digit year (9999-12-31T23:59:59Z would roll the clock into year 10000).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)
# How much faster or slower a slewing clock runs: chrony's largest slew rate (83333 ppm), so
# that a correction of one second is done in twelve.
MAX_SLEW_RATE = 1 / 12


def in_range(moment: float) -> bool:
    return EARLIEST.timestamp() <= moment <= LATEST.timestamp()


class Clock:
    """Wall clock with an adjustable offset (the device's own notion of time)."""

    def __init__(self, max_slew_rate: float = MAX_SLEW_RATE) -> None:
        if not 0 < max_slew_rate < 1:  # at 1 or more a negative slew would stop or reverse the clock
            raise ValueError("the slew rate is a fraction between 0 and 1")
        self.max_slew_rate = max_slew_rate
        self._base = 0.0  # the offset before the slew under way
        self._slew = 0.0  # the whole correction being slewed (0: none)
        self._slew_since = 0.0  # monotonic time the slew began

    # -- reading -------------------------------------------------------------------------
    def host_time(self) -> float:
        """The host's wall clock, which the device never changes."""
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        """Seconds since the epoch, as the device sees it."""
        return self.host_time() + self.offset

    @property
    def offset(self) -> float:
        """The device's offset from the host clock now, with the part of a slew done so far."""
        return self._base + self._slewed(self.monotonic())

    @offset.setter
    def offset(self, value: float) -> None:
        self._base = float(value)
        self._slew = 0.0

    @property
    def settled_offset(self) -> float:
        """The offset once the slew under way is done: what a restart should come back to."""
        return self._base + self._slew

    @property
    def slew_remaining(self) -> float:
        """Seconds of correction still to be slewed (signed; 0 when none is under way)."""
        return self._slew - self._slewed(self.monotonic())

    def _slewed(self, now: float) -> float:
        if not self._slew:
            return 0.0
        done = max(0.0, now - self._slew_since) * self.max_slew_rate
        return math.copysign(min(done, abs(self._slew)), self._slew)

    # -- adjusting -----------------------------------------------------------------------
    def set_time(self, epoch_seconds: float) -> None:
        """Set the device's time (a step; a slew under way is dropped)."""
        self.offset = epoch_seconds - self.host_time()

    def step(self, seconds: float) -> None:
        """Move the device's time by `seconds` at once (a slew under way is dropped)."""
        self.offset = self.offset + seconds

    def slew(self, seconds: float) -> None:
        """Correct the device's time by `seconds` gradually, replacing a slew under way (the
        new correction is measured against the time the clock shows now)."""
        now = self.monotonic()
        self._base += self._slewed(now)
        self._slew = float(seconds)
        self._slew_since = now

    def slew_duration(self, seconds: float) -> float:
        """How long slewing `seconds` takes."""
        return abs(seconds) / self.max_slew_rate


class FakeClock(Clock):
    """A clock that only moves when a test moves it."""

    def __init__(self, start: float = 1_700_000_000.0, max_slew_rate: float = MAX_SLEW_RATE) -> None:
        super().__init__(max_slew_rate)
        self._now = start
        self._mono = 1000.0

    def host_time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set_time(self, epoch_seconds: float) -> None:
        # The fake host moves: the time then reads back exactly as set.
        self._now = epoch_seconds
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds
