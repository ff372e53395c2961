"""One ending for a live session, whoever asks for it.

End Session ▶ (`POST /api/sessions/{id}/end`), the host's signaling `end` and the empty-room job
all call `end_live_session`: the session moves live → ended once (web.room.service.mark_ended
publishes `session.end` and schedules the feedback reminders after its commit), then this
process's media room for it ends (`end` to every participant, peer connections closed, the
recording finished). A second caller finds the session no longer live and does nothing.

The media room is ended on the node of this process, which is where rooms live while `serve`
runs web and media together; the empty-room job is therefore kept in the serving process
(`in_process`) even when Celery workers run the other jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from media_server import NodeEvent, RoomEnded
from models.enums import SessionStatus
from models.tables import MentorSession, ScheduledJob
from web.http.identity import Identity
from web.jobs import JOBS
from web.keys import CLOCK, DB
from web.room.allocation import end_remote_room, forget_remote_ended, room_node_report
from web.room.keys import MEDIA_NODE
from web.room.service import check_can_end, empty_room_grace, mark_ended, session_view
from web.room.tasks import EMPTY_ROOM_CHECK, schedule_empty_room_check
from web.sessions.schemas import SessionView
from web.sessions.timing import end_of

log = logging.getLogger(__name__)

# The reason participants read in `end`; the host's signaling `end` uses the same one.
ENDED_BY_HOST = "ended_by_host"
EMPTY_ROOM = "empty_room"
# Observers do not keep a room alive.
_NOT_COUNTED = {"admin"}


async def end_live_session(app: web.Application, session_id: int, *, reason: str) -> bool:
    """End the session and its media; False when it was not live (already ended by another path)."""
    row = await mark_ended(app, session_id)
    if row is None:
        return False
    await stop_media(app, row.room_code, reason)
    return True


async def stop_media(app: web.Application, room_code: str, reason: str) -> None:
    node = app[MEDIA_NODE]
    # A node task: a caller that goes away (a closed HTTP request) must not leave the room half closed.
    await asyncio.shield(node.spawn(node.end_room(room_code, reason)))
    # The room may run on a standalone media node (web.room.allocation): it gets the same order.
    await end_remote_room(app, room_code, reason)


async def end_by_mentor(app: web.Application, identity: Identity, session_id: int) -> SessionView:
    """End Session ▶: the mentor's own live session, or a 409 saying why not."""
    await check_can_end(app, identity, session_id)
    # Losing a race to the host's signaling `end` still leaves the session ended, as asked.
    await end_live_session(app, session_id, reason=ENDED_BY_HOST)
    return await session_view(app, identity, session_id)


async def room_occupants(app: web.Application, room_code: str) -> int:
    room = app[MEDIA_NODE].rooms.get(room_code)
    if room is not None:
        return sum(1 for p in room.participants.values() if p.role not in _NOT_COUNTED)
    try:
        remote = await room_node_report(app, room_code)
    except (RedisError, OSError):
        return 1  # cannot tell: an empty-room check must not end a session it cannot see
    return remote.room_participants.get(room_code, 0) if remote is not None else 0


async def _session_of_room(app: web.Application, room_code: str) -> int | None:
    async with app[DB].session() as s:
        found = (await s.exec(
            select(MentorSession.id).where(col(MentorSession.room_code) == room_code)  # type: ignore[call-overload]
        )).first()
    return int(found) if found is not None else None


def setup_room_ending(app: web.Application) -> None:
    node = app[MEDIA_NODE]

    async def host_ended(room_code: str) -> None:
        try:
            session_id = await _session_of_room(app, room_code)
            if session_id is not None and not await end_live_session(app, session_id, reason=ENDED_BY_HOST):
                async with app[DB].session() as s:
                    row = await s.get(MentorSession, session_id)
                if row is not None and row.status == SessionStatus.SCHEDULED:
                    # Ended before Go Live: only that room closed; the session goes live later.
                    node.forget_ended(room_code)
                    await forget_remote_ended(app, room_code)
        except SQLAlchemyError:
            # The room is closed either way; the empty-room job ends the session later.
            log.exception("ending the session of room %s failed", room_code)

    def on_node_event(event: NodeEvent) -> Awaitable[None] | None:
        if isinstance(event, RoomEnded) and event.reason == ENDED_BY_HOST:
            return host_ended(event.room)
        return None

    node.add_listener(on_node_event)

    async def empty_room_check(args: dict[str, Any]) -> None:
        session_id = int(args["session_id"])
        async with app[DB].session() as s:
            row = await s.get(MentorSession, session_id)
        if row is None or row.status != SessionStatus.LIVE:
            return
        now, grace = app[CLOCK].now(), empty_room_grace(app)
        due = end_of(row) + grace
        if now >= due and await room_occupants(app, row.room_code) == 0:
            await end_live_session(app, session_id, reason=EMPTY_ROOM)
            return
        # Not over yet, or people are still talking: look again later.
        await _check_again(app, session_id, due if now < due else now + grace / 2)

    app[JOBS].register(EMPTY_ROOM_CHECK, empty_room_check, in_process=True)


async def _check_again(app: web.Application, session_id: int, due_at: datetime) -> None:
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        pending = (await s.exec(select(ScheduledJob).where(
            col(ScheduledJob.kind) == EMPTY_ROOM_CHECK, col(ScheduledJob.done_at).is_(None),
            col(ScheduledJob.due_at) > now,
        ))).all()
        # A redelivered run must not start a second chain of checks.
        if any(job.args.get("session_id") == session_id for job in pending):
            return
        schedule_empty_room_check(app, s, session_id=session_id, due_at=due_at)
        await s.commit()
