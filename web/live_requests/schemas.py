"""The JSON shape of a live request, with its status as of now (an expired pending one reads "expired")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import rules
from models.clock import as_utc, iso_utc
from models.tables import LiveRequest, MentorSession, User
from web.accounts.schemas import mentor_page_url
from web.money import price_display


def scheduled_session_json(session: MentorSession) -> dict[str, Any]:
    """The session a request became: what the learner's request list links to and books in one click."""
    return {
        "id": session.id,
        "title": session.title,
        "start_at": iso_utc(session.start_at),
        "price_paise": session.price_paise,
        "price_display": price_display(session.price_paise),
        "status": session.status,
        "url": f"{mentor_page_url(session.mentor_id)}#session-{session.id}",
    }


def live_request_json(row: LiveRequest, learner: User, mentor: User, now: datetime,
                      session: MentorSession | None = None) -> dict[str, Any]:
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
        "session": scheduled_session_json(session) if session is not None else None,
    }
