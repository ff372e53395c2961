"""Handing a due job to Celery while Redis hangs (a private redis-server frozen with SIGSTOP) fails in
seconds instead of holding the dispatcher; the job stays claimed and is handed off again later."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlmodel import select

from models.clock import SystemClock
from models.db import Database
from models.tables import MentorSession, ScheduledJob
from tests.conftest import make_config
from tests.support.private_redis import PrivateRedis
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account
from web.app import create_app
from web.bookings.tasks import SESSION_REMINDER
from web.jobs import JOB_RUNNER
from workers.scheduler import schedule_job

pytestmark = pytest.mark.redis


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    yield server
    server.close()


async def test_a_hand_off_to_a_stopped_redis_gives_up_within_seconds(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    await db.create_all()
    clock, hasher = SystemClock(), fast_test_hasher()
    mentor = await create_account(db, clock, hasher, "mentor", {"email": "m@x.io", "name": "M", "password": "pw1"})
    now = clock.now()
    async with db.session() as s:
        session = MentorSession(
            mentor_id=mentor.id or 0,
            title="Hand-off",
            start_at=now + timedelta(minutes=20),
            room_code="hand-off-room",
            created_at=now,
            updated_at=now,
        )
        s.add(session)
        await s.flush()
        schedule_job(
            s, kind=SESSION_REMINDER, args={"session_id": session.id, "learner_id": mentor.id}, due_at=now, now=now
        )
        await s.commit()
    config = make_config(tmp_path, redis={"url": private_redis.url, "socket_timeout_seconds": 0.5})
    app = create_app(config, clock=clock, passwords=fast_test_hasher(), database=db)
    runner = web.AppRunner(app)
    await runner.setup()
    private_redis.stop()
    try:
        started = time.perf_counter()
        with pytest.raises(Exception):  # noqa: B017 - kombu's or the timeout's: either way it gave up
            await asyncio.wait_for(app[JOB_RUNNER].run_due(), 30)
        waited = time.perf_counter() - started
        print(f"\nhand-off to a stopped Redis gave up after {waited:.1f} s")
        assert waited < 5
    finally:
        private_redis.resume()
        await runner.cleanup()
    try:
        async with db.session() as s:
            job = (await s.exec(select(ScheduledJob))).one()
        # Still claimed, not done: its lease ends and the dispatcher hands it off again.
        assert job.done_at is None and job.claimed_at is not None
    finally:
        await db.dispose()
