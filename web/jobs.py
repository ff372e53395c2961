"""Durable jobs in the app: the registry handlers join, the dispatcher, and where jobs run.

Without Redis the embedded runner runs due jobs in this process; with `[redis] url` it hands them
to Celery workers (`mentorlive worker`), which run the same handlers in their own app instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from web.keys import CLOCK, CONFIG, DB
from workers.celery_app import make_celery, send_job
from workers.dispatcher import ClaimedJob, Dispatcher
from workers.embedded import EmbeddedRunner
from workers.registry import JobRegistry

JOBS: web.AppKey[JobRegistry] = web.AppKey("jobs")
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher")
JOB_RUNNER: web.AppKey[EmbeddedRunner] = web.AppKey("job_runner")


def setup_jobs(app: web.Application) -> None:
    config = app[CONFIG]
    registry = JobRegistry()
    dispatcher = Dispatcher(app[DB], app[CLOCK], lease_seconds=config.int("workers", "lease_seconds"))
    broker = config.str("redis", "url")
    hand_off = None
    if broker:
        celery = make_celery(broker)

        async def hand_off(job: ClaimedJob) -> None:
            # The Celery client is synchronous: keep the loop free while it talks to Redis.
            await asyncio.to_thread(send_job, celery, job.id)

    runner = EmbeddedRunner(dispatcher, registry, poll_seconds=config.float("workers", "poll_seconds"),
                            hand_off=hand_off)
    app[JOBS] = registry
    app[DISPATCHER] = dispatcher
    app[JOB_RUNNER] = runner

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        if config.bool("workers", "dispatcher"):
            runner.start()
        yield
        await runner.stop()

    app.cleanup_ctx.append(lifecycle)
