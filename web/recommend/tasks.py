"""The recommend domain's durable jobs: nightly training, and pruning the event log after `keep_days`.

Each run schedules the next night's, so one pending row per kind keeps the cycle going; `ensure_nightly()`
(called when `mentorlive serve` starts) plants the first if none is pending. Both are idempotent: training
twice stores two versions of the same model, pruning twice deletes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete
from sqlmodel import col, select

from models.tables import RecEvent, ScheduledJob
from web.jobs import JOBS
from web.keys import CLOCK, CONFIG, DB
from web.recommend.service import train_and_store
from workers.scheduler import schedule_job

TRAIN = "recommend_train"
PRUNE = "recommend_prune"


def next_night(now: datetime, hour: int) -> datetime:
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


async def prune_events(app: web.Application, now: datetime) -> int:
    cutoff = now - timedelta(days=app[CONFIG].int("recommend", "keep_days"))
    async with app[DB].session() as s:
        result = await s.execute(delete(RecEvent).where(col(RecEvent.at) < cutoff))
        await s.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def ensure_nightly(app: web.Application) -> None:
    now = app[CLOCK].now()
    due = next_night(now, app[CONFIG].int("recommend", "train_hour_utc"))
    async with app[DB].session() as s:
        for kind in (TRAIN, PRUNE):
            pending = (await s.exec(select(ScheduledJob).where(
                col(ScheduledJob.kind) == kind, col(ScheduledJob.done_at).is_(None)))).first()
            if pending is None:
                schedule_job(s, kind=kind, args={}, due_at=due, now=now)
        await s.commit()


def register_tasks(app: web.Application) -> None:
    async def reschedule(kind: str) -> None:
        now = app[CLOCK].now()
        async with app[DB].session() as s:
            schedule_job(s, kind=kind, args={"nightly": True},
                         due_at=next_night(now, app[CONFIG].int("recommend", "train_hour_utc")), now=now)
            await s.commit()

    async def train_job(args: dict[str, Any]) -> None:
        await train_and_store(app[CONFIG], app[DB], app[CLOCK].now())
        if args.get("nightly", True):
            await reschedule(TRAIN)

    async def prune_job(args: dict[str, Any]) -> None:
        await prune_events(app, app[CLOCK].now())
        if args.get("nightly", True):
            await reschedule(PRUNE)

    app[JOBS].register(TRAIN, train_job)
    app[JOBS].register(PRUNE, prune_job)
