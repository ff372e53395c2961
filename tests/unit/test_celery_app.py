"""Two Celery apps in one process (two web apps, or a test after another) each run jobs by the one name."""

from __future__ import annotations

from workers.celery_app import RUN_JOB, make_celery


def test_a_second_celery_app_in_the_process_registers_its_own_job_runner_without_a_duplicate() -> None:
    # The suite turns warnings into errors: a shared task would raise DuplicateTaskNameWarning here.
    first = make_celery("redis://127.0.0.1:6379/0")
    first.finalize()
    second = make_celery("redis://127.0.0.1:6379/0")
    second.finalize()
    assert first.tasks[RUN_JOB] is not second.tasks[RUN_JOB]
    assert RUN_JOB in second.tasks
