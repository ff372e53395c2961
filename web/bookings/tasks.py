"""The bookings domain's job: "your session starts soon", due `[workers] session_reminder_minutes`
before a booked session starts.

Idempotent (safe when Celery redelivers): it re-reads the state and does nothing once the reason is
gone (a cancelled booking, an ended session, a reminder already stored).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, SessionStatus
from models.tables import Booking, MentorSession
from web.jobs import JOBS
from web.keys import CLOCK, CONFIG
from web.realtime.notifications import already_notified
from web.realtime.outbox import unit_of_work
from workers.scheduler import schedule_job

SESSION_REMINDER = "session_reminder"


def _reminder_lead(app: web.Application) -> timedelta:
    return timedelta(minutes=app[CONFIG].int("workers", "session_reminder_minutes"))


def schedule_session_reminder(app: web.Application, session: AsyncSession, *, mentor_session: MentorSession,
                              learner_id: int) -> None:
    """Call inside the booking's transaction, so the timer exists exactly when the booking does."""
    lead = _reminder_lead(app)
    now = app[CLOCK].now()
    if now >= mentor_session.start_at or mentor_session.status != SessionStatus.SCHEDULED:
        return  # booked once it had started: "starts soon" would be wrong, Join ▶ is already open
    schedule_job(session, kind=SESSION_REMINDER, args={"session_id": mentor_session.id, "learner_id": learner_id},
                 due_at=max(now, mentor_session.start_at - lead), now=now)


def register_tasks(app: web.Application) -> None:
    async def session_reminder(args: dict[str, Any]) -> None:
        session_id, learner_id = int(args["session_id"]), int(args["learner_id"])
        async with unit_of_work(app) as work:
            s = work.s
            mentor_session = await s.get(MentorSession, session_id)
            booking = (await s.exec(select(Booking).where(
                Booking.session_id == session_id, Booking.learner_id == learner_id))).first()
            if (mentor_session is None or booking is None or booking.status != BookingStatus.CONFIRMED
                    or mentor_session.status not in (SessionStatus.SCHEDULED, SessionStatus.LIVE)
                    or await already_notified(s, learner_id, SESSION_REMINDER, session_id)):
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
            await work.notify(
                user_id=learner_id, kind=SESSION_REMINDER, title="Your session starts soon",
                body=mentor_session.title, data={"session_id": session_id},
            )
            await s.commit()

    app[JOBS].register(SESSION_REMINDER, session_reminder)
