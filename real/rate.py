"""A fixed-rate control loop clock with deadline tracking."""

from __future__ import annotations

import time


class RateKeeper:
    """`wait()` at the end of each cycle sleeps to the next tick of `hz`.

    A cycle whose work overran its period is late; `late_total` counts them and `late_run` the
    current streak, which the env compares with its limit to stop an episode. With
    `realtime=False` (the digital twin in tests) nothing sleeps and no cycle is late.
    """

    def __init__(self, hz: float, realtime: bool = True):
        self.period, self.realtime = 1.0 / hz, realtime
        self.late_total = self.late_run = 0
        self._next = None

    def start(self) -> None:
        self._next = time.monotonic() + self.period
        self.late_run = 0

    def wait(self) -> bool:
        """End a cycle. Returns True if it was late."""
        if not self.realtime:
            return False
        now = time.monotonic()
        late = now > self._next
        if late:
            self.late_total += 1
            self.late_run += 1
            self._next = now + self.period  # re-anchor: do not try to catch up with a burst
        else:
            self.late_run = 0
            time.sleep(self._next - now)
            self._next += self.period
        return late
