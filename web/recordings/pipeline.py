"""The compose job: every reported window becomes an MP4 part as soon as it is finished; once the media is
complete (or, after the session ended, the node stopped reporting) the parts are joined and the chat
transcript, whiteboard PNG and raw tracks zip are written beside the recording.

Crash safety: a part is written under a temporary name and renamed when whole, and each finished part
is committed to its segment row before the next starts, so a run that dies resumes from the last
finished part. The heavy work runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from sqlmodel import col, select

from models.enums import RecordingStatus, SessionStatus
from models.tables import ChatMessage, MentorSession, Recording, RecordingSegment, WhiteboardSnapshot
from web.keys import CLOCK, CONFIG, DB
from web.realtime.channels import mentor_channel
from web.realtime.outbox import UnitOfWork, unit_of_work
from web.recordings.artifacts import ChatLine, raw_zip, transcript_text, whiteboard_png
from web.recordings.compose.join import join_parts
from web.recordings.compose.part import compose_window
from web.recordings.compose.timeline import window_from_json
from web.recordings.queries import Access, segments_of
from web.recordings.scheduling import ensure_retention, schedule_compose
from web.recordings.schemas import recording_json
from web.recordings.storage import (
    absolute,
    compose_settings,
    composed_dir,
    disk_usage,
    part_name,
    recordings_root,
    relative,
    remove_room_files,
)

log = logging.getLogger(__name__)

DONE = frozenset({RecordingStatus.READY, RecordingStatus.PARTIAL, RecordingStatus.EXPIRED, RecordingStatus.DELETED})
# While the session has ended but the node's last window has not arrived yet, look again this often.
WAIT_FOR_FINAL = timedelta(seconds=2)
RECORDING_READY = "recording_ready"


def media_complete(segments: list[RecordingSegment]) -> bool:
    """Every run's windows are all there, up to its final one."""
    runs: dict[str, list[RecordingSegment]] = {}
    for row in segments:
        runs.setdefault(row.run, []).append(row)
    return bool(runs) and all(
        any(r.final for r in rows) and sorted(r.index for r in rows) == list(range(len(rows)))
        for rows in runs.values()
    )


async def compose_recording(app: web.Application, recording_id: int) -> None:
    while await _compose_next_part(app, recording_id):
        pass
    await _finish_if_complete(app, recording_id)


async def _compose_next_part(app: web.Application, recording_id: int) -> bool:
    """Compose the earliest window without a part; False when there is none (or nothing to do)."""
    config = app[CONFIG]
    root = recordings_root(config)
    async with app[DB].session() as s:
        recording = await s.get(Recording, recording_id)
        if recording is None or recording.status in DONE or recording.status == RecordingStatus.FAILED:
            return False
        segments = await segments_of(s, recording_id)
    todo = next((row for row in segments if row.part_path is None), None)
    if todo is None:
        return False
    out = composed_dir(root, recording.room_code) / part_name(todo.run, todo.index)
    if not out.is_file():
        window = window_from_json(todo.start_seconds, todo.end_seconds, todo.files, todo.presence, root)
        await asyncio.to_thread(compose_window, window, out, compose_settings(config))
    async with unit_of_work(app) as work:
        row = await work.s.get(RecordingSegment, todo.id)
        recording = await work.s.get(Recording, recording_id)
        if row is None or recording is None:
            return False
        now = app[CLOCK].now()
        row.part_path, row.composed_at = relative(root, out), now
        work.s.add(row)
        done = sum(1 for r in segments if r.part_path is not None) + 1
        recording.parts_done = done
        # The last part is the join's: a complete recording shows 100% only once it can be played.
        recording.progress = done / (len(segments) + 1)
        recording.updated_at = now
        work.s.add(recording)
        await _announce(work, recording)
        await work.s.commit()
    return True


async def _announce(work: UnitOfWork, recording: Recording) -> None:
    """Tell the mentor's pages (the Past card, the session page) how the recording stands."""
    session = await work.s.get(MentorSession, recording.session_id)
    if session is not None:
        work.publish(mentor_channel(session.mentor_id), "recording.updated",
                     {"recording": recording_json(recording, session, Access.OWNER)})


async def _finish_if_complete(app: web.Application, recording_id: int) -> None:
    config, now = app[CONFIG], app[CLOCK].now()
    async with unit_of_work(app) as work:
        recording = await work.s.get(Recording, recording_id)
        if recording is None or recording.status in DONE or recording.status == RecordingStatus.FAILED:
            return
        session = await work.s.get(MentorSession, recording.session_id)
        segments = await segments_of(work.s, recording_id)
        if session is None or session.status != SessionStatus.ENDED:
            return  # still recording: the next window's report schedules the next run
        if recording.status == RecordingStatus.RECORDING:
            recording.status = RecordingStatus.PROCESSING
            work.s.add(recording)
        if any(row.part_path is None for row in segments):
            # A window arrived after this run's last look: compose it in another run.
            await schedule_compose(app, work.s, recording_id)
            await work.s.commit()
            return
        complete = media_complete(segments)
        if not complete:
            deadline = (session.ended_at or now) + timedelta(seconds=config.float("recordings",
                                                                                  "finish_timeout_seconds"))
            if now < deadline:
                # The node reports its last window as the room closes; wait for it a little.
                await schedule_compose(app, work.s, recording_id, due_at=min(deadline, now + WAIT_FOR_FINAL))
                await work.s.commit()
                return
        if not segments:
            recording.status, recording.error = RecordingStatus.FAILED, "Nothing was recorded."
            recording.updated_at = now
            work.s.add(recording)
            await _announce(work, recording)
            await work.s.commit()
            return
        recording.partial = not complete
        await work.s.commit()
        title, started = session.title, session.went_live_at
        session_id = session.id
        room_code = recording.room_code
    await _write_outputs(app, recording_id, session_id or 0, title, started, room_code, segments)


async def _write_outputs(app: web.Application, recording_id: int, session_id: int, title: str,
                         started: datetime | None, room_code: str, segments: list[RecordingSegment]) -> None:
    root = recordings_root(app[CONFIG])
    folder = composed_dir(root, room_code)
    parts = [absolute(root, row.part_path) for row in segments if row.part_path]
    async with app[DB].session() as s:
        chat = (await s.exec(select(ChatMessage).where(col(ChatMessage.session_id) == session_id)
                             .order_by(col(ChatMessage.created_at), col(ChatMessage.id)))).all()
        board = (await s.exec(select(WhiteboardSnapshot)
                              .where(col(WhiteboardSnapshot.session_id) == session_id))).first()
    lines = [ChatLine(m.created_at, m.name, m.text) for m in chat]
    strokes = list(board.strokes) if board is not None else []
    tracks = sorted({absolute(root, f["path"]) for row in segments for f in row.files})
    def write() -> tuple[float, int, int, Path, Path, Path, Path]:
        video = folder / "recording.mp4"
        duration = join_parts(parts, video)
        transcript = folder / "chat.txt"
        tmp = transcript.with_name("chat.txt.tmp")
        tmp.write_text(transcript_text(title, started, lines), encoding="utf-8")
        tmp.replace(transcript)
        whiteboard = folder / "whiteboard.png"
        whiteboard_png(strokes, whiteboard)
        raw = folder / "raw-tracks.zip"
        raw_size = raw_zip(tracks, [transcript, whiteboard], raw)
        # The parts are inside the MP4 now.
        for part in parts:
            part.unlink(missing_ok=True)
        return duration, video.stat().st_size, raw_size, video, transcript, whiteboard, raw

    duration, size, raw_size, video, transcript, whiteboard, raw = await asyncio.to_thread(write)
    used = await asyncio.to_thread(disk_usage, root / room_code)
    async with unit_of_work(app) as work:
        recording = await work.s.get(Recording, recording_id)
        session = await work.s.get(MentorSession, session_id)
        if recording is None or session is None or recording.status in DONE:
            return
        now = app[CLOCK].now()
        recording.status = RecordingStatus.PARTIAL if recording.partial else RecordingStatus.READY
        recording.path, recording.size_bytes, recording.duration_seconds = relative(root, video), size, duration
        recording.raw_path, recording.raw_size_bytes = relative(root, raw), raw_size
        recording.transcript_path, recording.whiteboard_path = relative(root, transcript), relative(root, whiteboard)
        recording.disk_bytes, recording.progress, recording.error = used, 1.0, None
        recording.ready_at = recording.updated_at = now
        work.s.add(recording)
        await ensure_retention(app, work.s)
        await _announce(work, recording)
        note = "is ready" if recording.status == RecordingStatus.READY else "is ready (some media was missing)"
        await work.notify(user_id=session.mentor_id, kind=RECORDING_READY, title=f"Your recording {note}",
                          body=f"“{session.title}”: play or download it from the session page.",
                          data={"session_id": session_id, "recording_id": recording_id,
                                "url": f"/session/{session.room_code}/"})
        await work.s.commit()


async def mark_failed(app: web.Application, recording_id: int, error: str) -> None:
    """The compose job gave up: the mentor sees why and may retry."""
    async with unit_of_work(app) as work:
        recording = await work.s.get(Recording, recording_id)
        if recording is None or recording.status in DONE:
            return
        recording.status = RecordingStatus.FAILED
        recording.error = f"Composing the recording failed: {error}"[:500]
        recording.updated_at = app[CLOCK].now()
        work.s.add(recording)
        await _announce(work, recording)
        await work.s.commit()


async def expire_old(app: web.Application) -> int:
    """Delete the files of recordings older than `[recordings] keep_days`; their rows become `expired`."""
    config, now = app[CONFIG], app[CLOCK].now()
    cutoff = now - timedelta(days=config.int("recordings", "keep_days"))
    kept = [RecordingStatus.READY, RecordingStatus.PARTIAL, RecordingStatus.FAILED]
    async with app[DB].session() as s:
        old = (await s.exec(select(Recording).where(col(Recording.status).in_(kept),
                                                    col(Recording.created_at) < cutoff))).all()
        targets = [(row.id, row.room_code) for row in old]
    root = recordings_root(config)
    for recording_id, room_code in targets:
        await asyncio.to_thread(remove_room_files, root, room_code)
        async with app[DB].session() as s:
            row = await s.get(Recording, recording_id)
            if row is None:
                continue
            row.status, row.updated_at, row.disk_bytes = RecordingStatus.EXPIRED, now, 0
            row.path = row.raw_path = row.transcript_path = row.whiteboard_path = None
            s.add(row)
            await s.commit()
    return len(targets)
