"""Attendance: a booked learner whose media connection joined the room is recorded as attended.

The SFU reports joins as node events (it knows nothing of bookings); this listener turns the
first join of each booked learner into `Booking.attended_at`.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import update
from sqlmodel import col, select

from media_server import NodeEvent, ParticipantJoined
from models.enums import BookingStatus
from models.tables import Booking, MentorSession
from web.http.fields import row_id
from web.keys import CLOCK, DB
from web.room.keys import MEDIA_NODE

log = logging.getLogger(__name__)


def record_attendance(app: web.Application) -> None:
    async def on_event(event: NodeEvent) -> None:
        if not isinstance(event, ParticipantJoined) or event.role != "learner":
            return
        learner_id = row_id(event.user_id)
        if learner_id is None:
            return
        try:
            async with app[DB].session() as s:
                session_id = select(MentorSession.id).where(  # type: ignore[call-overload]
                    col(MentorSession.room_code) == event.room).scalar_subquery()
                await s.execute(
                    update(Booking)
                    .where(col(Booking.session_id) == session_id, col(Booking.learner_id) == learner_id,
                           col(Booking.status) == BookingStatus.CONFIRMED, col(Booking.attended_at).is_(None))
                    .values(attended_at=app[CLOCK].now())
                )
                await s.commit()
        except Exception:
            # Attendance is a report, not part of the call: a database hiccup must not disturb the room.
            log.warning("could not record attendance in room %s", event.room, exc_info=True)

    app[MEDIA_NODE].add_listener(on_event)
