"""The JSON shape of a booking (docs/api-sessions-contract.md)."""

from __future__ import annotations

from typing import Any

from models.clock import iso_utc
from models.tables import Booking, User


def booking_json(booking: Booking, learner: User) -> dict[str, Any]:
    return {
        "id": booking.id,
        "session_id": booking.session_id,
        "learner": {"id": learner.id, "name": learner.name},
        "status": booking.status,
        "created_at": iso_utc(booking.created_at),
        "confirmed_at": iso_utc(booking.confirmed_at) if booking.confirmed_at else None,
    }
