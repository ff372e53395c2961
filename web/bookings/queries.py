"""Reading bookings: who booked a session, for its mentor."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Booking, User
from web.bookings.schemas import booking_json


async def bookings_of_session(s: AsyncSession, session_id: int) -> list[dict[str, Any]]:
    rows = await s.exec(
        select(Booking, User)
        .join(User, col(User.id) == col(Booking.learner_id))
        .where(col(Booking.session_id) == session_id)
        .order_by(col(Booking.created_at), col(Booking.id))
    )
    return [booking_json(booking, learner) for booking, learner in rows.all()]
