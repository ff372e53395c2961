"""Telling the mentor, the session's followers and the learner that a booking (free or paid) is confirmed.

The events of docs/api-sessions-contract.md, always published after the commit that confirmed the booking.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from models.tables import Booking, MentorSession, Notification, User
from web.keys import DB
from web.realtime.channels import learner_channel, mentor_channel, session_channel
from web.realtime.outbox import Event, publish_committed
from web.sessions.queries import confirmed_counts, get_session_row


async def announce_confirmed(app: web.Application, session: MentorSession, learner: User, booking: Booking,
                             notes: Sequence[Notification]) -> None:
    assert session.id is not None and learner.id is not None
    async with app[DB].session() as s:
        fresh = await get_session_row(s, session.id)
        booked = (await confirmed_counts(s, [session.id])).get(session.id, 0)
    new_booking = {
        "session_id": session.id,
        "booked_count": booked,
        "seats_left": max(0, fresh.capacity - fresh.seats_taken),
        "learner": {"id": learner.id, "name": learner.name},
    }
    events = [
        Event(mentor_channel(session.mentor_id), "new_booking", new_booking),
        Event(session_channel(session.id), "new_booking", new_booking),
        Event(learner_channel(learner.id), "booking_confirmed", {"session_id": session.id, "booking_id": booking.id}),
    ]
    await publish_committed(app, events, notes)
