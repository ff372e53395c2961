"""Recording rows from what the media node reports, the end of a session, and what the mentor decides.

The node reports `RoomStarted` (a recorded room: the row exists, status `recording`) and a
`RecordingSegment` per finished window (stored, and the compose job scheduled in the same commit).
The session's single ending (web.room.service.mark_ended) calls `session_ended` inside its
transaction: the recording moves to `processing` and the compose job finishes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from media_server import NodeEvent, RecordingSegment, RoomStarted
from models.enums import RecordingStatus
from models.tables import MentorSession, Recording
from models.tables import RecordingSegment as SegmentRow
from web.errors import conflict, forbidden
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG, DB
from web.realtime.outbox import UnitOfWork, unit_of_work
from web.recordings.queries import Access, recording_and_access, recording_of_session, session_and_access
from web.recordings.scheduling import schedule_compose
from web.recordings.storage import recordings_root, relative, remove_room_files
from web.room.keys import ENDING_HOOKS, MEDIA_NODE

log = logging.getLogger(__name__)

ONLY_THE_MENTOR = "Only the session's mentor can do that."


async def _session_of_room(s: AsyncSession, room_code: str) -> MentorSession | None:
    return (await s.exec(select(MentorSession).where(col(MentorSession.room_code) == room_code))).first()


async def _ensure_recording(s: AsyncSession, app: web.Application, session: MentorSession) -> Recording:
    assert session.id is not None
    found = await recording_of_session(s, session.id)
    if found is not None:
        return found
    now = app[CLOCK].now()
    row = Recording(session_id=session.id, room_code=session.room_code, status=RecordingStatus.RECORDING,
                    created_at=now, updated_at=now)
    s.add(row)
    await s.flush()
    return row


async def recording_started(app: web.Application, room_code: str) -> None:
    for _attempt in range(2):
        async with app[DB].session() as s:
            session = await _session_of_room(s, room_code)
            if session is None:
                return  # a room no session owns (the SFU test page)
            try:
                await _ensure_recording(s, app, session)
                await s.commit()
                return
            except IntegrityError:
                # The first window's report created it at the same moment.
                await s.rollback()


def _files_json(app: web.Application, event: RecordingSegment) -> list[dict[str, Any]]:
    root = recordings_root(app[CONFIG])
    return [
        {"path": relative(root, f.path), "publication_id": f.publication_id, "participant_id": f.participant_id,
         "user_id": f.user_id, "source": f.source, "kind": f.kind, "codec": f.codec, "frames": f.frames,
         "first": round(f.start_offset, 4), "last": round(f.start_offset + f.duration, 4),
         "gaps": [list(gap) for gap in f.gaps]}
        for f in event.files
    ]


async def segment_reported(app: web.Application, event: RecordingSegment) -> None:
    """Store one finished window and have it composed; a repeated report changes nothing."""
    now = app[CLOCK].now()
    for _attempt in range(2):
        async with app[DB].session() as s:
            session = await _session_of_room(s, event.room)
            if session is None:
                return
            try:
                recording = await _ensure_recording(s, app, session)
                if recording.status in (RecordingStatus.EXPIRED, RecordingStatus.DELETED):
                    return
                assert recording.id is not None
                s.add(SegmentRow(
                    recording_id=recording.id, run=event.run, index=event.index, start_seconds=event.start,
                    end_seconds=event.end, final=event.final, files=_files_json(app, event),
                    presence=[{"participant_id": p.participant_id, "user_id": p.user_id, "name": p.name,
                               "role": p.role, "joined": round(p.joined, 4),
                               "left": None if p.left is None else round(p.left, 4)} for p in event.presence],
                    created_at=now,
                ))
                await s.flush()
                await schedule_compose(app, s, recording.id)
                await s.commit()
                return
            except IntegrityError:
                await s.rollback()


async def session_ended(work: UnitOfWork, session: MentorSession) -> None:
    """Inside the ending's transaction: a recording still `recording` moves on to be finished."""
    assert session.id is not None
    recording = await recording_of_session(work.s, session.id)
    if recording is None or recording.status != RecordingStatus.RECORDING:
        return
    recording.status = RecordingStatus.PROCESSING
    recording.updated_at = work.app[CLOCK].now()
    work.s.add(recording)
    assert recording.id is not None
    await schedule_compose(work.app, work.s, recording.id)


async def set_shared(app: web.Application, identity: Identity, session_id: int, shared: bool) -> None:
    async with unit_of_work(app) as work:
        session, access = await session_and_access(work.s, identity, session_id)
        if access != Access.OWNER:
            raise forbidden(ONLY_THE_MENTOR)
        session.share_recording = shared
        session.updated_at = app[CLOCK].now()
        work.s.add(session)
        await work.s.commit()


async def retry(app: web.Application, identity: Identity, recording_id: int) -> None:
    """A failed composition, tried again from the last finished part."""
    async with unit_of_work(app) as work:
        recording, _session, access = await recording_and_access(work.s, identity, recording_id)
        if access != Access.OWNER:
            raise forbidden(ONLY_THE_MENTOR)
        if recording.status != RecordingStatus.FAILED:
            raise conflict("Only a recording whose composition failed can be retried.")
        recording.status, recording.error = RecordingStatus.PROCESSING, None
        recording.updated_at = app[CLOCK].now()
        work.s.add(recording)
        await schedule_compose(app, work.s, recording_id)
        await work.s.commit()


async def delete(app: web.Application, identity: Identity, recording_id: int) -> None:
    """The mentor removes the recording's files; the row stays, `deleted`."""
    async with unit_of_work(app) as work:
        recording, _session, access = await recording_and_access(work.s, identity, recording_id)
        if access != Access.OWNER:
            raise forbidden(ONLY_THE_MENTOR)
        if recording.status in (RecordingStatus.RECORDING, RecordingStatus.PROCESSING):
            raise conflict("The recording is still being made; delete it once it is ready.")
        room_code = recording.room_code
        now = app[CLOCK].now()
        recording.status, recording.deleted_at, recording.updated_at = RecordingStatus.DELETED, now, now
        recording.disk_bytes, recording.path, recording.raw_path = 0, None, None
        recording.transcript_path = recording.whiteboard_path = None
        work.s.add(recording)
        await work.s.commit()
    await asyncio.to_thread(remove_room_files, recordings_root(app[CONFIG]), room_code)


def setup_recordings(app: web.Application) -> None:
    """The node's recording reports become rows; the session's ending finishes its recording."""

    async def safely(what: str, coro: Awaitable[None]) -> None:
        try:
            await coro
        except SQLAlchemyError:
            log.exception("recording: %s failed", what)

    def on_node_event(event: NodeEvent) -> Awaitable[None] | None:
        if isinstance(event, RoomStarted) and event.recording:
            return safely("start", recording_started(app, event.room))
        if isinstance(event, RecordingSegment):
            return safely("segment", segment_reported(app, event))
        return None

    app[MEDIA_NODE].add_listener(on_node_event)
    app.setdefault(ENDING_HOOKS, []).append(session_ended)
