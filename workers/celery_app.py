"""The Celery side: one task, `mentorlive.run_job`, that runs a claimed ScheduledJob by id.

The durable timer is the ScheduledJob row, not a Celery countdown: Redis as a broker redelivers
long-countdown tasks, and a row survives restarts. Celery only carries "run job N now".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Protocol

from celery import Celery, Task

RUN_JOB = "mentorlive.run_job"

class JobExecutor(Protocol):
    """Runs a job inside the worker's long-lived event loop; returns whether it succeeded."""

    def submit(self, job_id: int) -> Future[bool]: ...

class MentorLiveCelery(Celery):
    # Set by the worker command before it starts consuming; the task reads it from its app.
    executor: JobExecutor | None = None

def make_celery(broker_url: str) -> MentorLiveCelery:
    app = MentorLiveCelery("mentorlive", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        # A job is acknowledged after it ran: a worker that dies mid-job leaves it for another.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    # shared=False: a shared task is added to every Celery app finalized later in the process, so a
    # second app (another web app or test in the same process) would see two callables for one name.
    @app.task(name=RUN_JOB, bind=True, ignore_result=True, shared=False)
    def run_job(self: Task, job_id: int) -> bool:
        executor = getattr(self.app, "executor", None)
        if executor is None:
            raise RuntimeError("this Celery worker was not started by `mentorlive worker`")
        return executor.submit(job_id).result(timeout=600)

    return app

def send_job(app: Celery, job_id: int) -> None:
    app.send_task(RUN_JOB, args=[job_id])

Submit = Callable[[Callable[[], Awaitable[Any]]], Future[Any]]
