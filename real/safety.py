"""Safety between the policy and the driver: every command passes `SafetyFilter.check` first, and a
`Watchdog` disables torque when commands stop arriving.

Rules (in order): a non-finite command is refused (the episode stops, the hand keeps its last safe
pose); the command is clipped to the joint limits shrunk by a margin; its change from the last
safe command is limited per step. Every intervention is returned as an event for the recorder.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


class UnsafeCommand(RuntimeError):
    """A command that cannot be made safe (NaN/inf): stop the episode, hold the last safe pose."""


@dataclass
class SafetyFilter:
    ranges: np.ndarray            # (n, 2) joint limits, radians
    margin: float = 0.05          # fraction of each joint's range kept clear of both limits
    max_step: float = 0.15        # largest change per control step, radians
    last_safe: np.ndarray | None = None
    events: list[dict] = field(default_factory=list)

    def reset(self, q_now: np.ndarray) -> None:
        """Start an episode from the measured pose (itself clipped into the safe box)."""
        self.last_safe = np.clip(q_now, *self._box())

    def _box(self) -> tuple[np.ndarray, np.ndarray]:
        span = self.ranges[:, 1] - self.ranges[:, 0]
        return self.ranges[:, 0] + self.margin * span, self.ranges[:, 1] - self.margin * span

    def check(self, q_cmd: np.ndarray, step: int = -1) -> tuple[np.ndarray, list[dict]]:
        """The safe command and this step's events. Raises UnsafeCommand on NaN/inf."""
        if self.last_safe is None:
            raise RuntimeError("SafetyFilter.reset(q_now) must be called before the first command")
        q_cmd = np.asarray(q_cmd, dtype=np.float64)
        events = []
        if not np.all(np.isfinite(q_cmd)):
            events.append({"step": step, "event": "non_finite", "joints": np.flatnonzero(~np.isfinite(q_cmd)).tolist()})
            self.events += events
            raise UnsafeCommand(f"non-finite command at step {step}; holding the last safe pose")
        lo, hi = self._box()
        clipped = np.clip(q_cmd, lo, hi)
        if np.any(clipped != q_cmd):
            joints = np.flatnonzero(clipped != q_cmd).tolist()
            events.append({"step": step, "event": "clipped_to_limits", "joints": joints})
        limited = self.last_safe + np.clip(clipped - self.last_safe, -self.max_step, self.max_step)
        if np.any(limited != clipped):
            joints = np.flatnonzero(limited != clipped).tolist()
            events.append({"step": step, "event": "rate_limited", "joints": joints})
        self.last_safe = limited
        self.events += events
        return limited, events


class Watchdog:
    """While armed, calls `on_timeout` (disable torque) once if `feed()` is not called for `timeout_s`.

    The env arms it when an episode starts and disarms it when the episode ends, so the learner's
    updates between episodes (no commands, by design) do not trip it.
    """

    def __init__(self, timeout_s: float, on_timeout: Callable[[], None]):
        self.timeout_s, self.on_timeout = timeout_s, on_timeout
        self.tripped = False
        self.trips = 0
        self.armed = False
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Watchdog":
        self._last = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def feed(self) -> None:
        self._last = time.monotonic()

    def arm(self) -> None:
        self._last = time.monotonic()
        self.tripped, self.armed = False, True

    def disarm(self) -> None:
        self.armed = False

    def _run(self) -> None:
        while not self._stop.wait(self.timeout_s / 4):
            if self.armed and not self.tripped and time.monotonic() - self._last > self.timeout_s:
                self.tripped = True
                self.trips += 1
                self.on_timeout()
