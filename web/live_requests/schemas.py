"""The JSON shape of a live request, with its status as of now (an expired pending one reads "expired")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import rules
from models.clock import as_utc, iso_utc
from models.tables import LiveRequest, User


def live_request_json(row: LiveRequest, learner: User, mentor: User, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "learner": {"id": learner.id, "name": learner.name},
        "mentor": {"id": mentor.id, "name": mentor.name},
        "topic": row.topic,
        "message": row.message,
        "preferred_times": list(row.preferred_times),
        "status": rules.live_request_status(row.status, as_utc(row.expires_at), now),
        "created_at": iso_utc(row.created_at),
        "expires_at": iso_utc(row.expires_at),
        "responded_at": iso_utc(row.responded_at) if row.responded_at else None,
    }
