"""Authorizing entry to a session's room: the room URL and a short-lived signed join token.

The media node checks the token without a database call, so everything it needs (user, role,
room, node, whether to record) is decided here, once, against the rules of time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from media_server.tokens import sign_join_token
from models import rules
from models.clock import iso_utc
from models.enums import BookingStatus, Role
from models.tables import Booking, User
from web.errors import conflict, forbidden
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG, DB, SECRET
from web.sessions.queries import confirmed_counts, get_session_row
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
