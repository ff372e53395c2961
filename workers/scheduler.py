"""Durable timers: a ScheduledJob row written in the same transaction as what causes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import ScheduledJob


def schedule_job(session: AsyncSession, *, kind: str, args: dict[str, Any], due_at: datetime,
                 now: datetime) -> ScheduledJob:
    job = ScheduledJob(kind=kind, args=args, due_at=due_at, created_at=now)
    session.add(job)
    return job


async def cancel_jobs(session: AsyncSession, *, kind: str, match: dict[str, Any], now: datetime) -> None:
    """Marks matching pending jobs done (e.g. a reminder for a cancelled booking). JSON is filtered in Python
    because SQLite and PostgreSQL query JSON differently; the candidate set is one kind's pending rows."""
    from sqlmodel import select

    rows = (await session.exec(
        select(ScheduledJob).where(ScheduledJob.kind == kind, col(ScheduledJob.done_at).is_(None))
    )).all()
    ids = [job.id for job in rows if all(job.args.get(k) == v for k, v in match.items())]
    if ids:
        await session.execute(
            update(ScheduledJob).where(col(ScheduledJob.id).in_(ids)).values(done_at=now, last_error="cancelled")
        )
