"""The embedded task runner: one asyncio task in the serving process polls for due jobs.

With a broker configured, `hand_off` sends each claimed job to Celery instead of running it here,
except the kinds registered `in_process`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from workers.dispatcher import ClaimedJob, Dispatcher
from workers.registry import JobRegistry

log = logging.getLogger(__name__)


class EmbeddedRunner:
    def __init__(self, dispatcher: Dispatcher, registry: JobRegistry, *, poll_seconds: float,
                 hand_off: Callable[[ClaimedJob], Awaitable[None]] | None = None) -> None:
        self.dispatcher = dispatcher
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.hand_off = hand_off
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def run_due(self) -> int:
        """Runs (or hands off) every job due now; returns how many were claimed."""
        total = 0
        while True:
            jobs = await self.dispatcher.claim_due()
            if not jobs:
                return total
            total += len(jobs)
            for job in jobs:
                if self.hand_off is not None and not self.registry.runs_in_process(job.kind):
                    await self.hand_off(job)
                else:
                    await self.dispatcher.run(job, self.registry)

    def poke(self) -> None:
        """Look again now: a job was just scheduled for immediately."""
        self._wake.set()

    async def _loop(self) -> None:
        task = asyncio.current_task()
        while True:
            # A cancel that a Redis client or wait_for swallowed must still end the loop (workers
            # import nothing of media_server, so media_server/cancellation.py's guard is inlined).
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            try:
                await self.run_due()
            except Exception:
                # A database hiccup must not kill the runner; the next poll tries again.
                log.exception("embedded runner poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="mentorlive-embedded-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
