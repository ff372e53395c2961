"""Per-participant message rates: a token bucket per kind of message, over an injected clock.

A participant may send `burst` messages of a kind at once and `rate` per second after that; a
message over the rate is refused (`rate_limited`) and costs nothing else. The buckets belong to
the participant, not to its socket, so reconnecting does not refill them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


class TokenBucket:
    def __init__(self, rate: Rate, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._clock = clock
        self._tokens = float(rate.burst)
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(float(self._rate.burst), self._tokens + (now - self._at) * self._rate.per_second)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class MessageRates:
    """One bucket per limited message kind; kinds without a rate are not limited here."""

    def __init__(self, rates: Mapping[str, Rate], clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = {kind: TokenBucket(rate, clock) for kind, rate in rates.items()}

    def allow(self, kind: str) -> bool:
        bucket = self._buckets.get(kind)
        return bucket is None or bucket.take()
