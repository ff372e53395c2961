"""What is said and drawn in a room, stored with its session: chat lines and the whiteboard.

Chat lines come from the node's `ChatPosted` events. They are kept off the hot path: the
listener only appends to a bounded in-memory batch, which is written every
`[sessions] chat_flush_seconds`, when a room ends and at shutdown. The whiteboard is stored
when a room ends (`RoomEnded.whiteboard`), bounded by `[sessions] whiteboard_max_bytes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select

from media_server import ChatPosted, NodeEvent, RoomEnded
from models.clock import Clock, as_utc
from models.db import Database
from models.tables import ChatMessage, MentorSession, WhiteboardSnapshot
from web.batching import BoundedBatch
from web.keys import CLOCK, CONFIG, DB
from web.room.keys import MEDIA_NODE

log = logging.getLogger(__name__)


class RoomArchive:
    """Writes chat lines in batches and whiteboard snapshots; created with the app, closed once."""

    def __init__(self, db: Database, clock: Clock, *, max_pending: int, whiteboard_max_bytes: int) -> None:
        self._db = db
        self._clock = clock
        self._pending: BoundedBatch[ChatPosted] = BoundedBatch(max_pending)
        self._whiteboard_max_bytes = whiteboard_max_bytes
        self._lock = asyncio.Lock()

    @property
    def dropped(self) -> int:
        return self._pending.dropped

    def on_node_event(self, event: NodeEvent) -> Awaitable[None] | None:
        if isinstance(event, ChatPosted):
            # The database may be far behind: losing the oldest unsaved line beats unbounded memory.
            self._pending.add(event)
            return None
        if isinstance(event, RoomEnded):
            return self._room_ended(event)
        return None

    async def flush(self) -> None:
        """Write every pending chat line; on a database error they stay pending for the next try."""
        async with self._lock:
            if not self._pending:
                return
            batch = self._pending.take()
            try:
                await self._write_chat(batch)
            except SQLAlchemyError:
                log.warning("storing %d chat lines failed; retrying later", len(batch), exc_info=True)
                self._pending.requeue(batch)

    async def flush_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush()
            except Exception:
                log.exception("chat flush failed")

    async def _write_chat(self, batch: list[ChatPosted]) -> None:
        async with self._db.session() as s:
            sessions = await _session_ids(s, {line.room for line in batch})
            for line in batch:
                session_id, user_id = sessions.get(line.room), _int(line.user_id)
                if session_id is None or user_id is None:
                    continue  # a room no session owns (the SFU test page): nothing to keep it with
                s.add(ChatMessage(session_id=session_id, user_id=user_id, name=line.name[:120], text=line.text,
                                  created_at=_when(line.ts) or self._clock.now()))
            await s.commit()

    async def _room_ended(self, event: RoomEnded) -> None:
        await self.flush()
        strokes = bounded_strokes(event.whiteboard, self._whiteboard_max_bytes)
        if not strokes:
            # A room reopened after it emptied starts blank: keep what was drawn before.
            return
        try:
            await self._store_whiteboard(event.room, strokes)
        except SQLAlchemyError:
            log.exception("storing the whiteboard of room %s failed", event.room)

    async def _store_whiteboard(self, room_code: str, strokes: list[dict[str, Any]]) -> None:
        size = len(json.dumps(strokes))
        for _attempt in range(2):
            async with self._db.session() as s:
                session_id = (await _session_ids(s, {room_code})).get(room_code)
                if session_id is None:
                    return
                row = (await s.exec(
                    select(WhiteboardSnapshot).where(col(WhiteboardSnapshot.session_id) == session_id)
                )).first()
                if row is None:
                    row = WhiteboardSnapshot(session_id=session_id)
                row.strokes, row.size_bytes, row.updated_at = strokes, size, self._clock.now()
                s.add(row)
                try:
                    await s.commit()
                    return
                except IntegrityError:
                    # Another process stored this session's first snapshot at the same moment: update it.
                    await s.rollback()


def bounded_strokes(strokes: list[dict[str, Any]], max_bytes: int) -> list[dict[str, Any]]:
    """What is on the board: strokes after the last clear, the newest that fit in `max_bytes`."""
    last_clear = max((i for i, s in enumerate(strokes) if s.get("clear")), default=-1)
    visible = strokes[last_clear + 1:]
    kept: list[dict[str, Any]] = []
    total = 2  # the list's brackets
    for stroke in reversed(visible):
        size = len(json.dumps(stroke)) + 1
        if total + size > max_bytes:
            break
        kept.append(stroke)
        total += size
    kept.reverse()
    if last_clear >= 0 and not kept:
        return [{"clear": True}]
    return kept


async def _session_ids(s: Any, room_codes: set[str]) -> dict[str, int]:
    rows = (await s.exec(
        select(MentorSession.room_code, MentorSession.id).where(  # type: ignore[call-overload]
            col(MentorSession.room_code).in_(room_codes))
    )).all()
    return {code: int(session_id) for code, session_id in rows}


def _int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _when(ts: str) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(ts))
    except (TypeError, ValueError):
        return None


ROOM_ARCHIVE: web.AppKey[RoomArchive] = web.AppKey("room_archive", RoomArchive)


def setup_room_archive(app: web.Application) -> None:
    config = app[CONFIG]
    archive = RoomArchive(app[DB], app[CLOCK], max_pending=config.int("sessions", "chat_pending_max"),
                          whiteboard_max_bytes=config.int("sessions", "whiteboard_max_bytes"))
    app[ROOM_ARCHIVE] = archive
    node = app[MEDIA_NODE]
    node.add_listener(archive.on_node_event)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        writer = asyncio.create_task(archive.flush_forever(config.float("sessions", "chat_flush_seconds")))
        yield
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        # Close the node here, before the rest of cleanup: its rooms end and say what was drawn,
        # then the last chat lines are written (closing it again later does nothing).
        await node.close()
        await archive.flush()

    app.cleanup_ctx.append(lifecycle)
