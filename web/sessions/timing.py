"""How the config and a stored session become the inputs of the pure rules in models.rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.clock import as_utc
from models.rules import SessionFacts, TimeSettings
from models.tables import MentorSession
from web.config import Config


def time_settings(config: Config) -> TimeSettings:
    return TimeSettings(
        go_live_lead=timedelta(minutes=config.int("sessions", "go_live_lead_minutes")),
        edit_cutoff=timedelta(minutes=config.int("sessions", "edit_cutoff_minutes")),
        join_lead=timedelta(minutes=config.int("sessions", "join_lead_minutes")),
        live_request_ttl=timedelta(hours=config.int("sessions", "live_request_ttl_hours")),
        full_refund_before=timedelta(hours=config.float("payments", "full_refund_hours")),
        late_refund_percent=config.int("payments", "late_refund_percent"),
    )


def facts_of(session: MentorSession, confirmed_bookings: int = 0) -> SessionFacts:
    assert session.id is not None
    return SessionFacts(
        status=session.status,
        start_at=as_utc(session.start_at),
        duration_minutes=session.duration_minutes,
        capacity=session.capacity,
        seats_taken=session.seats_taken,
        mentor_id=session.mentor_id,
        confirmed_bookings=confirmed_bookings,
    )


def end_of(session: MentorSession) -> datetime:
    return as_utc(session.start_at) + timedelta(minutes=session.duration_minutes)
