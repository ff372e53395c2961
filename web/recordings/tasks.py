"""The recordings domain's jobs: `recording_compose` (compose every reported window, and once the media is
complete, join the parts and finish) and `recording_retention` (daily: delete what is older than
`[recordings] keep_days`). Both are idempotent: a redelivered or resumed run redoes nothing finished."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web.jobs import JOBS
from web.keys import CLOCK, DB
from web.recordings import pipeline
from web.recordings.scheduling import RECORDING_COMPOSE, RECORDING_RETENTION, RETENTION_EVERY
from workers.scheduler import schedule_job


def register_tasks(app: web.Application) -> None:
    async def compose(args: dict[str, Any]) -> None:
        await pipeline.compose_recording(app, int(args["recording_id"]))

    async def compose_given_up(args: dict[str, Any], error: str) -> None:
        await pipeline.mark_failed(app, int(args["recording_id"]), error)

    async def retention(args: dict[str, Any]) -> None:
        await pipeline.expire_old(app)
        async with app[DB].session() as s:
            now = app[CLOCK].now()
            schedule_job(s, kind=RECORDING_RETENTION, args={}, due_at=now + RETENTION_EVERY, now=now)
            await s.commit()

    app[JOBS].register(RECORDING_COMPOSE, compose, on_give_up=compose_given_up)
    app[JOBS].register(RECORDING_RETENTION, retention)
