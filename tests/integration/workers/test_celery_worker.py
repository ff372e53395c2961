"""A real `mentorlive worker` process (Celery on the real Redis) runs a job the serving app hands off,
and the notification it publishes reaches the serving process through the Redis bus."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from sqlmodel import select

from models.clock import SystemClock
from models.db import Database
from models.tables import Booking, MentorSession, Notification, ScheduledJob
from tests.conftest import make_config
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account
from web.app import create_app
from web.bookings.tasks import SESSION_REMINDER
from web.jobs import JOB_RUNNER
from web.realtime.envelope import Envelope, Position
from web.realtime.keys import BUS
from workers.scheduler import schedule_job

pytestmark = pytest.mark.redis
REDIS_URL = "redis://127.0.0.1:6379/14"


class Collector:
    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.arrived = asyncio.Event()

    def on_event(self, envelope: Envelope) -> None:
        self.events.append(envelope)
        self.arrived.set()

    def on_lost(self, channel: str, position: Position) -> None:
        pass


async def seed(db: Database) -> tuple[int, int]:
    clock, hasher = SystemClock(), fast_test_hasher()
    mentor = await create_account(db, clock, hasher, "mentor", {"email": "m@x.io", "name": "M", "password": "pw1"})
    learner = await create_account(db, clock, hasher, "learner", {"email": "l@x.io", "name": "L", "password": "pw1"})
    now = clock.now()
    async with db.session() as s:
        session = MentorSession(mentor_id=mentor.id or 0, title="Celery live", start_at=now + timedelta(minutes=20),
                                room_code="celery-room", seats_taken=1, created_at=now, updated_at=now)
        s.add(session)
        await s.flush()
        s.add(Booking(session_id=session.id or 0, learner_id=learner.id or 0, status="confirmed", created_at=now))
        schedule_job(s, kind=SESSION_REMINDER, args={"session_id": session.id, "learner_id": learner.id},
                     due_at=now, now=now)
        await s.commit()
        return session.id or 0, learner.id or 0


async def test_worker_process_runs_handed_off_job(tmp_path: Path) -> None:
    flush = aioredis.from_url(REDIS_URL)
    await flush.flushdb()
    await flush.aclose()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    db = Database(db_url)
    await db.create_all()
    session_id, learner_id = await seed(db)

    env = {**os.environ, "MENTORLIVE_DATABASE_URL": db_url, "MENTORLIVE_REDIS_URL": REDIS_URL,
           "MENTORLIVE_WEB_SECRET": "test-secret-not-for-production"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", "worker", env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )
    config = make_config(tmp_path, redis={"url": REDIS_URL})
    app = create_app(config, clock=SystemClock(), passwords=fast_test_hasher(), database=db)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        collector = Collector()
        await app[BUS].subscribe(f"notifications:{learner_id}", collector)
        assert await app[JOB_RUNNER].run_due() == 1  # claimed here, handed to Celery
        await asyncio.wait_for(collector.arrived.wait(), timeout=60)
        assert collector.events[0].event == SESSION_REMINDER
        assert collector.events[0].data["data"]["session_id"] == session_id
        # The handler publishes before the dispatcher marks the job done: wait for that commit too.
        for _ in range(100):
            async with db.session() as s:
                job = (await s.exec(select(ScheduledJob))).one()
            if job.done_at is not None:
                break
            await asyncio.sleep(0.1)
        assert job.done_at is not None and job.attempts == 1
        async with db.session() as s:
            notes = (await s.exec(select(Notification))).all()
            assert [n.title for n in notes] == ["Your session starts soon"]
    finally:
        await runner.cleanup()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            output = (await asyncio.wait_for(worker.communicate(), timeout=20))[0]
        except TimeoutError:
            os.killpg(worker.pid, signal.SIGKILL)
            output = (await worker.communicate())[0]
        print((output or b"").decode(errors="replace")[-3000:])
