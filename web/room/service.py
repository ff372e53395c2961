"""The live part of a session: Go Live, the join token that lets a user into the room, and End.

Join: the media node checks the token without a database call, so everything it needs (user,
role, room, node, whether to record) is decided here, once, against the rules of time.
Go Live and End move the session with the guarded transition of web.sessions.service and
publish `session.live` / `session.end` on the room's channel after the commit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from media_server.tokens import sign_join_token
from models import rules
from models.clock import iso_utc
from models.enums import BookingStatus, Role, SessionStatus
from models.tables import Booking, MentorSession, User
from web.errors import conflict, forbidden
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG, DB, SECRET
from web.realtime.channels import room_channel
from web.realtime.outbox import unit_of_work
from web.room.tasks import schedule_feedback_reminders
from web.sessions.queries import confirmed_counts, get_session_row
from web.sessions.schemas import SessionView
from web.sessions.service import (
    CHANGED_MEANWHILE,
    confirmed_learners,
    facts_for,
    own_session,
    require,
    still_scheduled,
    transition,
    updated_view,
)
from web.sessions.timing import facts_of, time_settings


def room_url(room_code: str) -> str:
    return f"/session/{room_code}/"


async def authorize_join(app: web.Application, identity: Identity, session_id: int) -> dict[str, Any]:
    db, now, config = app[DB], app[CLOCK].now(), app[CONFIG]
    async with db.session() as s:
        row = await get_session_row(s, session_id)
        user = await s.get(User, identity.user_id)
        if user is None:
            raise forbidden("Your account no longer exists.")
        facts = facts_of(row, (await confirmed_counts(s, [session_id])).get(session_id, 0))
        if identity.user_id == row.mentor_id:
            role = Role.MENTOR
            decision = rules.can_enter_room(facts)
        else:
            booking_status = (await s.exec(
                select(Booking.status).where(  # type: ignore[call-overload]
                    col(Booking.session_id) == session_id, col(Booking.learner_id) == identity.user_id
                )
            )).first()
            if identity.role != Role.LEARNER or booking_status is None:
                raise forbidden("Only learners who booked this session can join it.")
            role = Role.LEARNER
            decision = rules.can_join(facts, now, time_settings(config), booking_status=booking_status)
            if booking_status != BookingStatus.CONFIRMED:
                raise forbidden(decision.reason)
    if not decision:
        raise conflict(decision.reason)
    ttl = config.int("sessions", "join_token_ttl_seconds")
    token = sign_join_token(
        app[SECRET],
        user_id=identity.user_id,
        name=user.name,
        role=str(role),
        room=row.room_code,
        node=config.str("media", "node_id"),
        # Only the mentor's connection starts a recording; learners never decide that.
        record=row.record and role == Role.MENTOR,
        ttl_seconds=ttl,
        now=now,
    )
    return {
        "room_url": room_url(row.room_code),
        "token": token,
        "expires_at": iso_utc(now + timedelta(seconds=ttl)),
        "role": str(role),
    }


async def go_live(app: web.Application, identity: Identity, session_id: int) -> SessionView:
    """The mentor opens the room: the session is live, booked learners are told, pages update."""
    now = app[CLOCK].now()
    settings = time_settings(app[CONFIG])
    async with app[DB].session() as s:
        row = await own_session(s, session_id, identity)
        require(rules.can_go_live(await facts_for(s, row), now, settings))
    async with unit_of_work(app) as work:
        await transition(work.s, session_id, still_scheduled(row), CHANGED_MEANWHILE,
                         status=SessionStatus.LIVE, went_live_at=now, updated_at=now)
        for learner_id in await confirmed_learners(work.s, session_id):
            await work.notify(user_id=learner_id, kind="session_live", title="Your session is live",
                              body=f"“{row.title}” has started. Join now.",
                              data={"session_id": session_id, "room_code": row.room_code})
        work.publish(room_channel(row.room_code), "session.live",
                     {"session_id": session_id, "room_code": row.room_code})
        view = await updated_view(work, session_id, identity)
        await work.s.commit()
    return view


async def end_session(app: web.Application, identity: Identity, session_id: int) -> SessionView:
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        row = await own_session(s, session_id, identity)
        require(rules.can_end(facts_of(row)))
    async with unit_of_work(app) as work:
        await transition(work.s, session_id, [col(MentorSession.status) == SessionStatus.LIVE],
                         "This session is no longer live.", status=SessionStatus.ENDED, ended_at=now, updated_at=now)
        learners = await confirmed_learners(work.s, session_id)
        schedule_feedback_reminders(app, work.s, session_id=session_id, learner_ids=learners, ended_at=now)
        work.publish(room_channel(row.room_code), "session.end", {"session_id": session_id, "room_code": row.room_code})
        view = await updated_view(work, session_id, identity)
        await work.s.commit()
    return view
