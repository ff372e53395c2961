"""Keyframe requests toward one publisher: throttled, deferred rather than dropped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class KeyframeRequester:
    """At most one PLI per `interval`; a request inside the interval is sent when it ends.

    Many subscribers asking at once (a join wave, a loss burst) cost the publisher
    one keyframe, and the last asker still gets one after the throttle.
    """

    def __init__(self, send: Callable[[], Awaitable[None]], interval: float) -> None:
        self._send = send
        self._interval = interval
        self._last = -1e9
        self._deferred: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.requested = 0
        self._closed = False

    def request(self) -> None:
        if self._closed:
            return
        self.requested += 1
        if self._deferred is not None:
            return
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self._fire()
        else:
            self._deferred = asyncio.get_running_loop().call_later(wait, self._fire)

    def _fire(self) -> None:
        self._deferred = None
        if self._closed:
            return
        self._last = time.monotonic()
        self.sent += 1
        task = asyncio.ensure_future(self._send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        self._closed = True
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
