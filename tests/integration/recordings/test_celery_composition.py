"""Composition on real `mentorlive worker` processes (Celery on the real Redis): a worker killed mid-composition
loses nothing; after its claim lapses another worker resumes from the last finished part and the MP4 is whole."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from sqlmodel import select

from models.clock import SystemClock
from models.db import Database
from models.enums import SessionStatus
from models.tables import MentorSession, Recording, RecordingSegment
from tests.conftest import make_config
from tests.integration.recordings.synthetic import report_windows
from tests.support.recordings import decode_mp4
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account
from web.app import create_app
from web.jobs import JOB_RUNNER
from web.room.service import mark_ended

pytestmark = pytest.mark.redis
REDIS_URL = "redis://127.0.0.1:6379/13"
WINDOWS, LENGTH = 12, 4.0
LEASE = 3


async def seed(db: Database) -> tuple[int, int, str]:
    clock, hasher = SystemClock(), fast_test_hasher()
    mentor = await create_account(db, clock, hasher, "mentor", {"email": "m@x.io", "name": "Maya", "password": "pw1"})
    now = clock.now()
    async with db.session() as s:
        session = MentorSession(mentor_id=mentor.id or 0, title="Killed worker", start_at=now - timedelta(minutes=5),
                                room_code="celery-rec", record=True, status=SessionStatus.LIVE, went_live_at=now,
                                created_at=now, updated_at=now)
        s.add(session)
        await s.commit()
        return session.id or 0, mentor.id or 0, session.room_code


async def start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", "worker", env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )


async def segments(db: Database) -> list[RecordingSegment]:
    async with db.session() as s:
        return sorted((await s.exec(select(RecordingSegment))).all(), key=lambda r: r.index)


# Two Celery worker processes encode real video: about 20 s alone, several times that while the media and
# browser tests share the machine's two cores.
@pytest.mark.timeout(420)
async def test_a_worker_killed_mid_composition_is_resumed_by_another(tmp_path: Path) -> None:
    flush = aioredis.from_url(REDIS_URL)
    await flush.flushdb()
    await flush.aclose()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    db = Database(db_url)
    await db.create_all()
    session_id, mentor_id, room_code = await seed(db)
    env = {**os.environ, "MENTORLIVE_DATABASE_URL": db_url, "MENTORLIVE_REDIS_URL": REDIS_URL,
           "MENTORLIVE_WEB_SECRET": "test-secret-not-for-production",
           "MENTORLIVE_RECORDINGS_DIR": str(tmp_path / "recordings")}
    config = make_config(tmp_path, redis={"url": REDIS_URL}, workers={"dispatcher": False, "lease_seconds": LEASE})
    app = create_app(config, clock=SystemClock(), passwords=fast_test_hasher(), database=db)
    runner = web.AppRunner(app)
    await runner.setup()
    workers: list[asyncio.subprocess.Process] = []
    try:
        people = [(str(mentor_id), "Maya", "mentor"), ("2", "Lena Learner", "learner")]
        await report_windows(app, room_code, people, windows=WINDOWS, length=LENGTH)
        assert await mark_ended(app, session_id) is not None
        first = await start_worker(env)
        workers.append(first)
        await app[JOB_RUNNER].run_due()  # claimed here, handed to Celery
        deadline = time.monotonic() + 90
        while not any(row.part_path for row in await segments(db)):
            assert time.monotonic() < deadline, "the first worker composed nothing"
            await asyncio.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        await first.wait()
        before = {row.index: row.composed_at for row in await segments(db) if row.part_path}
        assert 0 < len(before) < WINDOWS, "killed mid-composition"

        workers.append(await start_worker(env))
        await asyncio.sleep(LEASE + 0.5)
        await app[JOB_RUNNER].run_due()  # the lapsed claim is taken again and handed to the new worker
        while True:
            async with db.session() as s:
                recording = (await s.exec(select(Recording))).one()
            if recording.status in ("ready", "partial", "failed"):
                break
            assert time.monotonic() < deadline, recording
            await asyncio.sleep(0.1)
        assert recording.status == "ready"
        after = {row.index: row.composed_at for row in await segments(db)}
        assert all(after[index] == when for index, when in before.items()), "finished parts are kept"
        videos, audios, duration, _audio, _pictures = decode_mp4(tmp_path / "recordings" / str(recording.path))
        assert videos == ["h264"] and audios == ["aac"]
        assert abs(duration - WINDOWS * LENGTH) < 0.1
    finally:
        await runner.cleanup()
        for worker in workers:
            if worker.returncode is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(worker.wait(), timeout=20)
                except TimeoutError:
                    os.killpg(worker.pid, signal.SIGKILL)
                    await worker.wait()
