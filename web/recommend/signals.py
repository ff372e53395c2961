"""Impressions and interactions, written off the request path in batches.

A request only appends to a bounded in-memory buffer; it is written every `[recommend] flush_seconds` and
at shutdown (like the room archive's chat lines). When the database is far behind, the oldest unsaved
events are dropped: losing a few impressions beats unbounded memory or a slow tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from models.db import Database
from models.tables import RecEvent
from web.batching import BoundedBatch

log = logging.getLogger(__name__)


class SignalLog:
    def __init__(self, db: Database, *, max_pending: int) -> None:
        self._db = db
        self._pending: BoundedBatch[RecEvent] = BoundedBatch(max_pending)
        self._lock = asyncio.Lock()
        # Events refused by the database (a session or user no longer there).
        self._rejected = 0
        self._task: asyncio.Task[None] | None = None

    def record(self, events: Iterable[RecEvent]) -> None:
        for event in events:
            self._pending.add(event)

    @property
    def dropped(self) -> int:
        return self._pending.dropped + self._rejected

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch = self._pending.take()
            try:
                await self._write(batch)
            except IntegrityError:
                # One event names a session or user that is not there: keep the others, drop only it.
                for event in batch:
                    try:
                        await self._write([_fresh(event)])
                    except IntegrityError:
                        self._rejected += 1
            except SQLAlchemyError:
                log.warning("storing %d recommendation events failed; retrying later", len(batch), exc_info=True)
                self._pending.requeue(_fresh(e) for e in batch)

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
