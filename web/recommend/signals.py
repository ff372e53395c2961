"""Impressions and interactions, written off the request path in batches.

A request only appends to a bounded in-memory buffer; it is written every `[recommend] flush_seconds` and
at shutdown (like the room archive's chat lines). When the database is far behind, the oldest unsaved
events are dropped: losing a few impressions beats unbounded memory or a slow tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from models.db import Database
from models.tables import RecEvent

log = logging.getLogger(__name__)


class SignalLog:
    def __init__(self, db: Database, *, max_pending: int) -> None:
        self._db = db
        self._pending: deque[RecEvent] = deque(maxlen=max_pending)
        self._lock = asyncio.Lock()
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def record(self, events: Iterable[RecEvent]) -> None:
        for event in events:
            if len(self._pending) == self._pending.maxlen:
                self.dropped += 1
            self._pending.append(event)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch = list(self._pending)
            self._pending.clear()
            try:
                await self._write(batch)
            except IntegrityError:
                # One event names a session or user that is not there: keep the others, drop only it.
                for event in batch:
                    try:
                        await self._write([_fresh(event)])
                    except IntegrityError:
                        self.dropped += 1
            except SQLAlchemyError:
                log.warning("storing %d recommendation events failed; retrying later", len(batch), exc_info=True)
                keep = (batch + list(self._pending))[-(self._pending.maxlen or len(batch)):]
                self.dropped += len(batch) + len(self._pending) - len(keep)
                self._pending.clear()
                self._pending.extend(_fresh(e) for e in keep)

    async def _write(self, batch: list[RecEvent]) -> None:
        async with self._db.session() as s:
            s.add_all(batch)
            await s.commit()

    def start(self, interval: float) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.flush()
                except Exception:
                    log.exception("recommendation event flush failed")

        self._task = asyncio.create_task(loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


def _fresh(event: RecEvent) -> RecEvent:
    # A new object: a failed session may have left the old one half-attached.
    return RecEvent(**event.model_dump(exclude={"id"}))
