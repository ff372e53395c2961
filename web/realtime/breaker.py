"""A circuit breaker: after a few failures in a row, stop calling a dependency for a while.

States (the usual three):

- closed: calls go through; `failures` consecutive failures open it.
- open: calls are refused at once (`allow()` is False) for `open_seconds`, so a hung Redis
  costs a request nothing instead of a timeout each.
- half-open: after `open_seconds` one trial call is let through; its success closes the
  breaker, its failure opens it again for another `open_seconds`.

Pure bookkeeping over an injected monotonic clock: no I/O, no tasks, no locks (one event loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, failures: int = 3, open_seconds: float = 5.0, now: Callable[[], float] = time.monotonic) -> None:
        if failures < 1 or open_seconds < 0:
            raise ValueError("failures must be >= 1 and open_seconds >= 0")
        self.failures = failures
        self.open_seconds = open_seconds
        self._now = now
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self.opened_total = 0

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._now() - self._opened_at >= self.open_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go to the dependency now (in half-open: the one trial call)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._trial_running:
            return False
        self._trial_running = True
        return True

    def succeeded(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._trial_running = False

    def failed(self) -> None:
        self._trial_running = False
        self._consecutive += 1
        if self._opened_at is not None or self._consecutive >= self.failures:
            if self._opened_at is None:
                self.opened_total += 1
            self._opened_at = self._now()

    def abandoned(self) -> None:
        """A call that was let through ended without a verdict (cancelled): free the trial slot."""
        self._trial_running = False

    def retry_in(self) -> float:
        """Seconds until the breaker lets a trial call through (0 when it would now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.open_seconds - (self._now() - self._opened_at))
