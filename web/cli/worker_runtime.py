"""What `mentorlive worker` runs: the full app (without an HTTP site) on a loop in its own thread,
so Celery's synchronous tasks run the same job handlers, with the same bus and gateway, as `serve`."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from aiohttp import web

from web.config import Config
from web.jobs import DISPATCHER, JOBS


class WorkerRuntime:
    def __init__(self, config: Config) -> None:
        # This process only runs what Celery hands it; the serving process owns the dispatcher.
        # Nor is it a media node or a reader of the media nodes' events (web nodes are: web.room.allocation).
        self.config = config.with_overrides({"workers": {"dispatcher": False}, "media": {"embedded": False},
                                             "scale": {"consume_node_events": False}})
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="mentorlive-worker-loop", daemon=True)
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    def start(self) -> None:
        from web.app import create_app

        self._thread.start()
        self.app = create_app(self.config)
        self._runner = web.AppRunner(self.app)
        asyncio.run_coroutine_threadsafe(self._runner.setup(), self.loop).result(timeout=60)

    def submit(self, job_id: int) -> Future[bool]:
        return asyncio.run_coroutine_threadsafe(self._run(job_id), self.loop)

    async def _run(self, job_id: int) -> bool:
        assert self.app is not None
        dispatcher = self.app[DISPATCHER]
        job = await dispatcher.load(job_id)
        if job is None:
            return True  # already done elsewhere: jobs are idempotent, a redelivery is harmless
        return await dispatcher.run(job, self.app[JOBS])

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
