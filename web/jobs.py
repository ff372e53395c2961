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
# A hand-off may take a connect, a send and one retry: at most this many socket timeouts.
HAND_OFF_TIMEOUTS = 4


def setup_jobs(app: web.Application) -> None:
    config = app[CONFIG]
    registry = JobRegistry()
    dispatcher = Dispatcher(app[DB], app[CLOCK], lease_seconds=config.int("workers", "lease_seconds"))
    broker = config.str("redis", "url")
    hand_off = None
    if broker:
        celery = make_celery(broker)
        # This process only sends: a stopped Redis must fail a send in seconds, not hold the
        # dispatcher (the job stays claimed and is handed off again when its lease ends).
        timeout = config.float("redis", "socket_timeout_seconds")
        celery.conf.broker_transport_options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        celery.conf.broker_connection_timeout = timeout
        celery.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                                 "interval_max": 0.2}

        async def hand_off(job: ClaimedJob) -> None:
            # The Celery client is synchronous: keep the loop free while it talks to Redis.
            await asyncio.wait_for(asyncio.to_thread(send_job, celery, job.id), timeout=HAND_OFF_TIMEOUTS * timeout)

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
