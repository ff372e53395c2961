"""Many dispatchers, each with its own connection pool, claiming the same due jobs: each job runs once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from models.clock import ManualClock
from models.db import Database
from models.tables import ScheduledJob
from workers.dispatcher import Dispatcher
from workers.embedded import EmbeddedRunner
from workers.registry import JobRegistry
from workers.scheduler import schedule_job


async def test_racing_dispatchers_with_their_own_pools_claim_each_job_once(database: Database,
                                                                          clock: ManualClock) -> None:
    async with database.session() as s:
        for n in range(150):
            schedule_job(s, kind="count", args={"n": n}, due_at=clock.now() - timedelta(seconds=n % 7),
                         now=clock.now())
        await s.commit()
    runs: Counter[int] = Counter()
    registry = JobRegistry()

    async def count(args: dict[str, Any]) -> None:
        runs[int(args["n"])] += 1
        await asyncio.sleep(0)  # let the other claimers interleave

    registry.register("count", count)
    # On PostgreSQL every claimer gets its own engine, as separate processes would.
    schema = None if database.is_sqlite else await _schema(database)
    pools = [database if schema is None else Database(database.url, schema=schema) for _ in range(6)]
    try:
        runners = [EmbeddedRunner(Dispatcher(db, clock), registry, poll_seconds=1) for db in pools]
        claimed = await asyncio.gather(*(r.run_due() for r in runners))
    finally:
        for db in pools:
            if db is not database:
                await db.dispose()
    assert sum(claimed) == 150
    assert runs == Counter(range(150))
    async with database.session() as s:
        jobs = (await s.exec(select(ScheduledJob))).all()
    assert all(job.done_at is not None and job.attempts == 1 for job in jobs)


async def _schema(database: Database) -> str:
    async with database.engine.connect() as conn:
        return str((await conn.execute(text("SELECT current_schema()"))).scalar_one())
