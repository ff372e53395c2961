"""Reminder jobs: "starting soon" before a booked session, and the feedback nudge an hour after it ends.

Both are idempotent (safe when Celery redelivers): they re-read the state and do nothing once the
reason is gone (a cancelled booking, feedback already given, a reminder already stored).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, SessionStatus
from models.tables import Booking, Feedback, MentorSession, Notification
from web.jobs import JOBS
from web.keys import CLOCK, CONFIG, DB
from web.realtime.keys import BUS
from web.realtime.notifications import add_notification, publish_notifications
from workers.scheduler import schedule_job

SESSION_REMINDER = "session_reminder"
FEEDBACK_REMINDER = "feedback_reminder"


def _reminder_lead(app: web.Application) -> timedelta:
    return timedelta(minutes=app[CONFIG].int("workers", "session_reminder_minutes"))


def schedule_session_reminder(app: web.Application, session: AsyncSession, *, mentor_session: MentorSession,
                              learner_id: int) -> None:
    """Call inside the booking's transaction, so the timer exists exactly when the booking does."""
    lead = _reminder_lead(app)
    now = app[CLOCK].now()
    schedule_job(session, kind=SESSION_REMINDER, args={"session_id": mentor_session.id, "learner_id": learner_id},
                 due_at=max(now, mentor_session.start_at - lead), now=now)


def schedule_feedback_reminders(app: web.Application, session: AsyncSession, *, session_id: int,
                                learner_ids: list[int], ended_at: datetime) -> None:
    delay = timedelta(minutes=app[CONFIG].int("workers", "feedback_reminder_minutes"))
    for learner_id in learner_ids:
        schedule_job(session, kind=FEEDBACK_REMINDER, args={"session_id": session_id, "learner_id": learner_id},
                     due_at=ended_at + delay, now=app[CLOCK].now())


async def _already_sent(s: AsyncSession, user_id: int, kind: str, session_id: int) -> bool:
    rows = (await s.exec(select(Notification).where(Notification.user_id == user_id, Notification.kind == kind))).all()
    return any(note.data.get("session_id") == session_id for note in rows)


def register_reminders(app: web.Application) -> None:
    async def session_reminder(args: dict[str, Any]) -> None:
        session_id, learner_id = int(args["session_id"]), int(args["learner_id"])
        async with app[DB].session() as s:
            mentor_session = await s.get(MentorSession, session_id)
            booking = (await s.exec(select(Booking).where(
                Booking.session_id == session_id, Booking.learner_id == learner_id))).first()
            if (mentor_session is None or booking is None or booking.status != BookingStatus.CONFIRMED
                    or mentor_session.status not in (SessionStatus.SCHEDULED, SessionStatus.LIVE)
                    or await _already_sent(s, learner_id, SESSION_REMINDER, session_id)):
                return
            now = app[CLOCK].now()
            due = mentor_session.start_at - _reminder_lead(app)
            if now < due:
                # The mentor moved the session later since this timer was set: remind before the new start.
                schedule_job(s, kind=SESSION_REMINDER, args={"session_id": session_id, "learner_id": learner_id},
                             due_at=due, now=now)
                await s.commit()
                return
            if now >= mentor_session.start_at + timedelta(minutes=mentor_session.duration_minutes):
                return
            note = await add_notification(
                s, app[CLOCK], user_id=learner_id, kind=SESSION_REMINDER, title="Your session starts soon",
                body=mentor_session.title, data={"session_id": session_id},
            )
            await s.commit()
        await publish_notifications(app[BUS], [note])

    async def feedback_reminder(args: dict[str, Any]) -> None:
        session_id, learner_id = int(args["session_id"]), int(args["learner_id"])
        async with app[DB].session() as s:
            mentor_session = await s.get(MentorSession, session_id)
            given = (await s.exec(select(Feedback).where(
                Feedback.session_id == session_id, Feedback.learner_id == learner_id))).first()
            if mentor_session is None or given is not None or await _already_sent(
                    s, learner_id, FEEDBACK_REMINDER, session_id):
                return
            note = await add_notification(
                s, app[CLOCK], user_id=learner_id, kind=FEEDBACK_REMINDER, title="Rate your mentor",
                body=f"How was “{mentor_session.title}”? Your rating helps other learners.",
                data={"session_id": session_id},
            )
            await s.commit()
        await publish_notifications(app[BUS], [note])

    app[JOBS].register(SESSION_REMINDER, session_reminder)
    app[JOBS].register(FEEDBACK_REMINDER, feedback_reminder)
