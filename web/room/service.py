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
from sqlalchemy import update
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
from web.room.allocation import place_room
from web.room.keys import ENDING_HOOKS
from web.room.tasks import schedule_empty_room_check, schedule_feedback_reminders
from web.sessions.queries import confirmed_counts, get_session_row, get_view
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
from web.sessions.timing import end_of, facts_of, time_settings


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
        elif identity.role == Role.ADMIN:
            # An observer: sends no media, is not an attendee (the media node reads the role).
            role = Role.ADMIN
            decision = rules.can_observe(facts)
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
    # With a registry, the room's media node (chosen now on its first join); without, this process's own.
    placed = await place_room(app, row.room_code)
    node_id, node_url = (placed.node_id, placed.url) if placed else (config.str("media", "node_id"), "")
    token = sign_join_token(
        app[SECRET],
        user_id=identity.user_id,
        name=user.name,
        role=str(role),
        room=row.room_code,
        node=node_id,
        url=node_url,
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
        # Where the browser's signaling socket goes: null means this site's own /rtc.
        "node": node_id,
        "rtc_url": node_url or None,
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
        # The durable check that ends the session if its room stays empty past the end (web.room.ending).
        schedule_empty_room_check(app, work.s, session_id=session_id, due_at=end_of(row) + empty_room_grace(app))
        for learner_id in await confirmed_learners(work.s, session_id):
            await work.notify(user_id=learner_id, kind="session_live", title="Your session is live",
                              body=f"“{row.title}” has started. Join now.",
                              data={"session_id": session_id, "room_code": row.room_code})
        work.publish(room_channel(row.room_code), "session.live",
                     {"session_id": session_id, "room_code": row.room_code})
        view = await updated_view(work, session_id, identity)
        await work.s.commit()
    return view


def empty_room_grace(app: web.Application) -> timedelta:
    return timedelta(minutes=app[CONFIG].int("sessions", "empty_room_grace_minutes"))


async def check_can_end(app: web.Application, identity: Identity, session_id: int) -> None:
    """End Session ▶ is the mentor's, on their own live session; a 409 says why not."""
    async with app[DB].session() as s:
        row = await own_session(s, session_id, identity)
    require(rules.can_end(facts_of(row)))


async def mark_ended(app: web.Application, session_id: int) -> MentorSession | None:
    """live → ended, once: the ended session, or None when it was not live (someone ended it first).

    Only the caller whose guarded UPDATE wins schedules the feedback reminders and queues
    `session.end`, so however many paths end a session at once (End Session ▶, the host's signaling
    `end`, the empty-room job), each happens exactly once. Stopping the media is the room's part
    (web.room.ending.end_live_session).
    """
    now = app[CLOCK].now()
    async with unit_of_work(app) as work:
        result = await work.s.execute(
            update(MentorSession)
            .where(col(MentorSession.id) == session_id, col(MentorSession.status) == SessionStatus.LIVE)
            .values(status=SessionStatus.ENDED, ended_at=now, updated_at=now)
        )
        if getattr(result, "rowcount", 0) != 1:
            await work.s.rollback()
            return None
        row = await get_session_row(work.s, session_id)
        learners = await confirmed_learners(work.s, session_id)
        schedule_feedback_reminders(app, work.s, session_id=session_id, learner_ids=learners, ended_at=now)
        for hook in app.get(ENDING_HOOKS, []):
            await hook(work, row)
        work.publish(room_channel(row.room_code), "session.end", {"session_id": session_id, "room_code": row.room_code})
        await updated_view(work, session_id, None)
        await work.s.commit()
    return row


async def session_view(app: web.Application, identity: Identity, session_id: int) -> SessionView:
    async with app[DB].session() as s:
        return await get_view(s, session_id, identity)
