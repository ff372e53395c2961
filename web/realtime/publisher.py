"""`EventPublisher`: events a request caused go out after its response, never on its time.

Lifecycle: built by `setup_realtime` around the app's (guarded) bus, started and stopped with
the app. `submit()` only appends to an in-memory queue and returns; one task publishes the
queue in order. So a slow or stopped Redis never makes a booking, a Go Live or a cancel wait:
each publish is bounded by the guarded bus's timeout, and while its circuit breaker is open
the task waits for the breaker instead of trying.

The queue is bounded in bytes (`[hub] publish_queue_bytes`, the events' JSON size). Past the
bound the oldest events are dropped; their channels get a new epoch (`EventBus.new_epoch`)
before anything else is published once the bus answers again, so a browser resuming from
before the loss is told `recovered: false` and reloads from the API instead of missing them.
Events that waited are published when the bus comes back, in the order they were submitted.

A publish that timed out may still have reached Redis (a stopped Redis runs it when it resumes):
every attempt carries the event's idempotency key, so the retry answers the first copy's id
instead of publishing a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

from media_server.cancellation import raise_if_cancelling
from web.realtime.breaker import CircuitBreaker
from web.realtime.bus import BusUnavailable, EventBus

log = logging.getLogger(__name__)

# Channels remembered as "lost events" while the bus is away; more is logged, not kept.
MAX_LOST_CHANNELS = 10_000
_IDLE_RETRY_SECONDS = 0.2


@dataclass(frozen=True)
class Pending:
    channel: str
    event: str
    data: dict[str, Any]
    size: int
    # The idempotency key of every attempt: a retry after a timeout is not a second copy.
    key: str


class EventPublisher:
    def __init__(self, bus: EventBus, breaker: CircuitBreaker | None, *, max_bytes: int) -> None:
        self.bus = bus
        self.breaker = breaker
        self.max_bytes = max_bytes
        self._queue: deque[Pending] = deque()
        self._lost: set[str] = set()
        self.queued_bytes = 0
        self.published = 0
        self.dropped = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    # the request side

    def submit(self, channel: str, event: str, data: dict[str, Any]) -> None:
        """Queue one event for publishing; never waits, never raises for the bus."""
        size = len(channel) + len(event) + len(json.dumps(data, separators=(",", ":"), default=str))
        self._queue.append(Pending(channel, event, data, size, secrets.token_hex(8)))
        self.queued_bytes += size
        while self.queued_bytes > self.max_bytes and self._queue:
            self._drop(self._queue.popleft())
        self._idle.clear()
        self._wake.set()

    def _drop(self, item: Pending) -> None:
        self.queued_bytes -= item.size
        self.dropped += 1
        if item.channel in self._lost:
            return
        if len(self._lost) < MAX_LOST_CHANNELS:
            self._lost.add(item.channel)
        else:
            log.error("event %s on %s dropped and its loss not recorded (too many channels)", item.event, item.channel)

    @property
    def pending(self) -> int:
        return len(self._queue)

    # the publishing side

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-publisher")

    async def stop(self, flush_seconds: float = 2.0) -> None:
        """Publish what is queued for up to `flush_seconds`, then stop (the rest is dropped)."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(flush_seconds):
                await self.flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._queue:
            log.warning("%d events not published at shutdown", len(self._queue))

    async def flush(self) -> None:
        """Wait until everything submitted so far is published (or dropped); bound it with asyncio.timeout."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            raise_if_cancelling()
            if not self._queue and not self._lost:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self.breaker.retry_in() if self.breaker is not None else 0.0
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                await self._publish_next()
            except BusUnavailable as exc:
                log.warning(
                    "bus unavailable, %d events waiting (%d bytes): %s", len(self._queue), self.queued_bytes, exc
                )
                if self.breaker is None or self.breaker.retry_in() == 0:
                    await asyncio.sleep(_IDLE_RETRY_SECONDS)
            except Exception:
                # A bug in one event (unserializable data) must not stop the others.
                if self._lost:
                    log.exception("starting a new epoch failed; %s keeps its epoch", self._lost.pop())
                elif self._queue:
                    item = self._queue.popleft()
                    self.queued_bytes -= item.size
                    log.exception("publishing %s on %s failed; dropped", item.event, item.channel)

    async def _publish_next(self) -> None:
        # Losses first: a new epoch must exist before the next event of that channel gets an id.
        if self._lost:
            channel = next(iter(self._lost))
            await self.bus.new_epoch(channel)
            self._lost.discard(channel)
            return
        item = self._queue[0]
        await self.bus.publish(item.channel, item.event, item.data, key=item.key)
        # Still the head unless dropped meanwhile (submit only appends and drops from the front).
        if self._queue and self._queue[0] is item:
            self._queue.popleft()
            self.queued_bytes -= item.size
        self.published += 1
