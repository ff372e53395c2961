"""Claims due jobs and runs them once each, on SQLite and PostgreSQL, with several claimers at once."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select

from models.clock import Clock
from models.db import Database
from models.tables import ScheduledJob
from workers.registry import JobRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    args: dict[str, Any]
    attempts: int


class Dispatcher:
    def __init__(self, db: Database, clock: Clock, *, lease_seconds: int = 300, max_attempts: int = 8) -> None:
        self.db = db
        self.clock = clock
        # A claim older than the lease belongs to a runner that died; another may take the job.
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts

    async def claim_due(self, limit: int = 20) -> list[ClaimedJob]:
        now = self.clock.now()
        claimable = (
            col(ScheduledJob.done_at).is_(None),
            col(ScheduledJob.due_at) <= now,
            or_(col(ScheduledJob.claimed_at).is_(None), col(ScheduledJob.claimed_at) < now - self.lease),
        )
        claimed: list[ClaimedJob] = []
        async with self.db.session() as s:
            query = select(ScheduledJob).where(*claimable).order_by(col(ScheduledJob.due_at)).limit(limit)
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            candidates = (await s.exec(query)).all()
            for job in candidates:
                assert job.id is not None
                job_id, kind, args, attempts = job.id, job.kind, dict(job.args), job.attempts
                # The conditional UPDATE is the claim on SQLite, where there are no row locks.
                result = await s.execute(
                    update(ScheduledJob).where(col(ScheduledJob.id) == job_id, *claimable)
                    .values(claimed_at=now, attempts=ScheduledJob.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(ClaimedJob(job_id, kind, args, attempts + 1))
            await s.commit()
        return claimed

    async def complete(self, job_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(update(ScheduledJob).where(col(ScheduledJob.id) == job_id)
                            .values(done_at=self.clock.now(), last_error=None))
            await s.commit()

    async def fail(self, job: ClaimedJob, error: str) -> bool:
        """Record a failed run; True when that was the last attempt and the job is given up."""
        now = self.clock.now()
        values: dict[str, Any] = {"claimed_at": None, "last_error": error[-1000:]}
        gave_up = job.attempts >= self.max_attempts
        if gave_up:
            values["done_at"] = now
        else:
            values["due_at"] = now + timedelta(seconds=min(3600, 5 * 2 ** job.attempts))
        async with self.db.session() as s:
            await s.execute(update(ScheduledJob).where(col(ScheduledJob.id) == job.id).values(**values))
            await s.commit()
        return gave_up

    async def run(self, job: ClaimedJob, registry: JobRegistry) -> bool:
        try:
            await registry.get(job.kind)(job.args)
        except Exception as exc:
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
            error = "".join(traceback.format_exception_only(exc)).strip()
            if await self.fail(job, error):
                await self._give_up(job, registry, error)
            return False
        await self.complete(job.id)
        return True

    async def _give_up(self, job: ClaimedJob, registry: JobRegistry, error: str) -> None:
        # A job given up must never disappear quietly: the log says so, and its kind may surface it further.
        log.error("job %s (%s) given up after %d attempts: %s", job.id, job.kind, job.attempts, error)
        hook = registry.give_up_handler(job.kind)
        if hook is None:
            return
        try:
            await hook(job.args, error)
        except Exception:
            log.exception("give-up handler of job %s (%s) failed", job.id, job.kind)

    async def load(self, job_id: int) -> ClaimedJob | None:
        async with self.db.session() as s:
            job = await s.get(ScheduledJob, job_id)
            if job is None or job.done_at is not None:
                return None
            return ClaimedJob(job_id, job.kind, dict(job.args), job.attempts)
