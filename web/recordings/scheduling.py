"""When the recordings domain's jobs run: the job kinds, and scheduling them inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import ScheduledJob
from web.keys import CLOCK
from workers.scheduler import schedule_job

RECORDING_COMPOSE = "recording_compose"
RECORDING_RETENTION = "recording_retention"
RETENTION_EVERY = timedelta(days=1)


async def _pending(s: AsyncSession, kind: str, *, unclaimed: bool) -> list[ScheduledJob]:
    query = select(ScheduledJob).where(col(ScheduledJob.kind) == kind, col(ScheduledJob.done_at).is_(None))
    if unclaimed:
        query = query.where(col(ScheduledJob.claimed_at).is_(None))
    return list((await s.exec(query)).all())


async def schedule_compose(app: web.Application, s: AsyncSession, recording_id: int,
                           due_at: datetime | None = None) -> None:
    """Call inside the transaction that gave the job something to do. A run already under way may have
    read its work before this change, so only a job not yet claimed counts as already scheduled."""
    now = app[CLOCK].now()
    due = due_at or now
    waiting = [job for job in await _pending(s, RECORDING_COMPOSE, unclaimed=True)
               if job.args.get("recording_id") == recording_id]
    if waiting:
        for job in waiting:
            # A run waiting for later (the last window not reported yet) comes forward when work arrives.
            if job.due_at > due:
                job.due_at = due
                s.add(job)
        return
    schedule_job(s, kind=RECORDING_COMPOSE, args={"recording_id": recording_id}, due_at=due, now=now)


async def ensure_retention(app: web.Application, s: AsyncSession) -> None:
    """One daily retention run is always pending once a recording exists (call when one is finished)."""
    now = app[CLOCK].now()
    if not await _pending(s, RECORDING_RETENTION, unclaimed=False):
        schedule_job(s, kind=RECORDING_RETENTION, args={}, due_at=now + RETENTION_EVERY, now=now)
