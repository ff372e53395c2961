"""The room domain's job: the feedback nudge `[workers] feedback_reminder_minutes` after a session ends.

Idempotent (safe when Celery redelivers): nothing is sent once feedback was given or the nudge was
already stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Feedback, MentorSession
from web.jobs import JOBS
from web.keys import CLOCK, CONFIG
from web.realtime.notifications import already_notified
from web.realtime.outbox import unit_of_work
from workers.scheduler import schedule_job

FEEDBACK_REMINDER = "feedback_reminder"
# The durable check that ends a live session whose room stayed empty past its end (web.room.ending).
EMPTY_ROOM_CHECK = "empty_room_check"


def feedback_form_url(room_code: str) -> str:
    """The room page opens its Rate Your Mentor form on this anchor once the session has ended."""
    return f"/session/{room_code}/#feedback"


def schedule_empty_room_check(app: web.Application, s: AsyncSession, *, session_id: int, due_at: datetime) -> None:
    """Call inside the transaction that makes (or keeps) the session live."""
    schedule_job(s, kind=EMPTY_ROOM_CHECK, args={"session_id": session_id}, due_at=due_at, now=app[CLOCK].now())


def schedule_feedback_reminders(app: web.Application, session: AsyncSession, *, session_id: int,
                                learner_ids: list[int], ended_at: datetime) -> None:
    delay = timedelta(minutes=app[CONFIG].int("workers", "feedback_reminder_minutes"))
    for learner_id in learner_ids:
        schedule_job(session, kind=FEEDBACK_REMINDER, args={"session_id": session_id, "learner_id": learner_id},
                     due_at=ended_at + delay, now=app[CLOCK].now())



def register_tasks(app: web.Application) -> None:
    async def feedback_reminder(args: dict[str, Any]) -> None:
        session_id, learner_id = int(args["session_id"]), int(args["learner_id"])
        async with unit_of_work(app) as work:
            s = work.s
            mentor_session = await s.get(MentorSession, session_id)
            given = (await s.exec(select(Feedback).where(
                Feedback.session_id == session_id, Feedback.learner_id == learner_id))).first()
            if mentor_session is None or given is not None or await already_notified(
                    s, learner_id, FEEDBACK_REMINDER, session_id):
                return
            await work.notify(
                user_id=learner_id, kind=FEEDBACK_REMINDER, title="Rate your mentor",
                body=f"How was “{mentor_session.title}”? Your rating helps other learners.",
                data={"session_id": session_id, "url": feedback_form_url(mentor_session.room_code)},
            )
            await s.commit()

    app[JOBS].register(FEEDBACK_REMINDER, feedback_reminder)
