"""The "starts soon" reminder follows the session when the mentor moves it, instead of firing at the old time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.integration.payments.flow.support import Shop
from web.bookings.tasks import SESSION_REMINDER
from web.jobs import JOBS

NewApi = Callable[[], Any]
LEAD = timedelta(minutes=30)  # [workers] session_reminder_minutes


async def test_reminder_of_a_session_moved_later_comes_before_the_new_start(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(price=0)
    asha = await shop.learner(new_api)
    await shop.book(asha, session_id)
    old_start = (await shop.session_row(session_id)).start_at
    new_start = old_start + timedelta(days=1, hours=3)
    await shop.mentor.json("PATCH", f"/api/sessions/{session_id}", 200,
                           json={"start_at": new_start.strftime("%Y-%m-%dT%H:%M:%SZ")})

    shop.clock.set(old_start - LEAD)
    await shop.run_jobs()
    assert await shop.notifications(asha.id, SESSION_REMINDER) == []  # a day early would be wrong

    shop.clock.set(new_start - LEAD - timedelta(seconds=1))
    await shop.run_jobs()
    assert await shop.notifications(asha.id, SESSION_REMINDER) == []
    shop.clock.set(new_start - LEAD)
    await shop.run_jobs()
    assert len(await shop.notifications(asha.id, SESSION_REMINDER)) == 1
    shop.clock.advance(timedelta(hours=2))
    await shop.run_jobs()
    assert len(await shop.notifications(asha.id, SESSION_REMINDER)) == 1


async def test_reminder_job_run_twice_reminds_once(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(price=0)
    asha = await shop.learner(new_api)
    await shop.book(asha, session_id)
    [job] = await shop.jobs(SESSION_REMINDER)
    shop.clock.set(job.due_at)
    handler = shop.app[JOBS].get(SESSION_REMINDER)
    await handler(dict(job.args))
    await handler(dict(job.args))  # Celery redelivers
    await shop.run_jobs()
    assert len(await shop.notifications(asha.id, SESSION_REMINDER)) == 1
