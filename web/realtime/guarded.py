"""`GuardedBus`: any EventBus behind a per-call timeout and a circuit breaker.

A stopped (not dead) Redis accepts connections and never answers: without a bound every call
would wait for the socket timeout. Here each call gets `timeout` seconds; a timeout or an
outage counts as a failure, and after `breaker.failures` of them in a row the breaker opens:
every call raises BusUnavailable at once until a trial call succeeds (web.realtime.breaker).
Callers already treat BusUnavailable as "realtime is away" (the hub answers "realtime
unavailable, retry later", the publisher keeps the event queued).

`subscribe` and `unsubscribe` of live fan-out are bounded by the same timeout; the bus's own
reader (which reconnects and replays, or reports `on_lost`) is left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from web.realtime.breaker import CircuitBreaker
from web.realtime.bus import BusUnavailable, EventBus, HistoryPolicy, Listener
from web.realtime.envelope import Envelope, Position, Recovery

T = TypeVar("T")


class GuardedBus:
    def __init__(self, inner: EventBus, breaker: CircuitBreaker, timeout: float) -> None:
        self.inner = inner
        self.breaker = breaker
        self.timeout = timeout
        self.timeouts = 0
        self.policy: HistoryPolicy = inner.policy

    async def _guard(self, what: str, call: Awaitable[T]) -> T:
        if not self.breaker.allow():
            # Never awaited: close it so Python does not warn about a forgotten coroutine.
            close = getattr(call, "close", None)
            if close is not None:
                close()
            raise BusUnavailable(f"{what}: bus circuit open, retry in {self.breaker.retry_in():.1f}s")
        try:
            # asyncio.timeout cancels the awaited call in place, without a task per call.
            async with asyncio.timeout(self.timeout):
                result = await call
        except TimeoutError as exc:
            self.timeouts += 1
            self.breaker.failed()
            raise BusUnavailable(f"{what}: no answer within {self.timeout}s") from exc
        except BusUnavailable:
            self.breaker.failed()
            raise
        except BaseException:
            # Cancelled, or a bug: not the dependency's fault, but a half-open trial must end.
            self.breaker.abandoned()
            raise
        self.breaker.succeeded()
        return result

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def publish(self, channel: str, event: str, data: dict[str, Any], *, key: str | None = None) -> Envelope:
        return await self._guard(f"publish {event}", self.inner.publish(channel, event, data, key=key))

    async def subscribe(self, channel: str, listener: Listener) -> None:
        await self._guard("subscribe", self.inner.subscribe(channel, listener))

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        # Not refused while open: forgetting a listener must always happen locally.
        try:
            async with asyncio.timeout(self.timeout):
                await self.inner.unsubscribe(channel, listener)
        except TimeoutError as exc:
            raise BusUnavailable(f"unsubscribe: no answer within {self.timeout}s") from exc

    async def position(self, channel: str) -> Position:
        return await self._guard("position", self.inner.position(channel))

    async def recover(self, channel: str, since_id: int, epoch: str) -> Recovery:
        return await self._guard("recover", self.inner.recover(channel, since_id, epoch))

    async def new_epoch(self, channel: str) -> None:
        await self._guard("new epoch", self.inner.new_epoch(channel))

    async def ping(self) -> None:
        await self._guard("ping", self.inner.ping())
