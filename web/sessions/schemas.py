"""The Session object of docs/api-sessions-contract.md, built from loaded rows and the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from models import rules
from models.clock import iso_utc
from models.enums import BookingStatus, Role
from models.rules import TimeSettings
from models.tables import MentorProfile, MentorSession, User
from web.accounts.schemas import mentor_page_url, mentor_rating_summary, photo_url
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG
from web.money import price_display
from web.sessions.thumbnails import thumbnail_url
from web.sessions.timing import end_of, facts_of, time_settings


@dataclass(frozen=True)
class SessionView:
    """One session with what its JSON needs besides the row: its mentor and booking counts."""

    session: MentorSession
    mentor: User
    mentor_profile: MentorProfile | None
    confirmed_bookings: int
    # The viewer's own booking status, when the viewer is a learner with a booking.
    viewer_booking: str | None = None
    viewer_booking_id: int | None = None


def session_json(
    view: SessionView, viewer: Identity | None, now: datetime, settings: TimeSettings
) -> dict[str, Any]:
    s = view.session
    facts = facts_of(s, view.confirmed_bookings)
    is_mentor = viewer is not None and viewer.user_id == s.mentor_id
    is_admin = viewer is not None and viewer.role == Role.ADMIN
    booked = view.viewer_booking == BookingStatus.CONFIRMED
    body = neutral_session_json(view, settings)
    body["room_code"] = s.room_code if (is_mentor or is_admin or booked) else None
    body["viewer"] = _viewer(view, viewer, is_mentor, now, settings, facts)
    return body


def session_body(app: web.Application, view: SessionView, viewer: Identity | None) -> dict[str, Any]:
    """The Session object as `viewer` sees it now, by the app's clock and rules of time."""
    return session_json(view, viewer, app[CLOCK].now(), time_settings(app[CONFIG]))


def neutral_session_json(view: SessionView, settings: TimeSettings) -> dict[str, Any]:
    """The fields every viewer sees alike (what `session_updated` events carry)."""
    s = view.session
    facts = facts_of(s, view.confirmed_bookings)
    return {
        "id": s.id,
        "title": s.title,
        "domain_tags": list(s.domain_tags),
        "description": s.description,
        "thumbnail_url": thumbnail_url(s.thumbnail_path),
        "start_at": iso_utc(facts.start_at),
        "end_at": iso_utc(end_of(s)),
        "duration_minutes": s.duration_minutes,
        "timezone": s.timezone,
        "price_paise": s.price_paise,
        "price_display": price_display(s.price_paise),
        "currency": s.currency,
        "capacity": s.capacity,
        "seats_taken": s.seats_taken,
        "booked_count": view.confirmed_bookings,
        "seats_left": max(0, s.capacity - s.seats_taken),
        "status": s.status,
        "record": s.record,
        "room_code": None,
        "mentor": {
            "id": view.mentor.id,
            "name": view.mentor.name,
            "headline": view.mentor_profile.headline if view.mentor_profile else "",
            "photo_url": photo_url(view.mentor_profile.photo_path) if view.mentor_profile else None,
            "profile_url": mentor_page_url(view.mentor.id),
        },
        "mentor_rating": mentor_rating_summary(view.mentor_profile),
        "go_live_opens_at": iso_utc(rules.go_live_opens_at(facts, settings)),
        "join_opens_at": iso_utc(rules.join_opens_at(facts, settings)),
        "edit_closes_at": iso_utc(rules.edit_closes_at(facts, settings)),
    }


def _viewer(
    view: SessionView,
    viewer: Identity | None,
    is_mentor: bool,
    now: datetime,
    settings: TimeSettings,
    facts: rules.SessionFacts,
) -> dict[str, Any]:
    reasons: dict[str, str] = {}
    decisions: dict[str, rules.Decision] = {}
    no = rules.Decision(False)
    if is_mentor:
        decisions["book"] = rules.Decision(False, "You can't book your own session.")
        decisions["join"] = no
        decisions["go_live"] = rules.can_go_live(facts, now, settings)
        decisions["enter_room"] = rules.can_enter_room(facts)
        decisions["edit"] = rules.can_edit(facts, now, settings)
        decisions["cancel"] = rules.can_cancel(facts, now, settings)
    else:
        if viewer is None or viewer.role == Role.LEARNER:
            learner_id = viewer.user_id if viewer else None
            decisions["book"] = rules.can_book(facts, now, learner_id=learner_id, booking_status=view.viewer_booking)
            decisions["join"] = rules.can_join(facts, now, settings, booking_status=view.viewer_booking)
        else:
            decisions["book"] = rules.Decision(False, "Only learners can book sessions.")
            decisions["join"] = no
        for key in ("go_live", "enter_room", "edit", "cancel"):
            decisions[key] = no
    for key in ("book", "join", "go_live", "enter_room", "edit"):
        decision = decisions[key]
        if not decision and decision.reason:
            reasons[key] = decision.reason
    changeable = (viewer is not None and not is_mentor
                  and rules.can_change_booking(facts, now, settings, booking_status=view.viewer_booking).allowed)
    return {
        "booking_status": view.viewer_booking,
        "booking_id": view.viewer_booking_id,
        # "Add to calendar" on a confirmed booking's card: the invite its confirmation email carried.
        "calendar_url": (f"/api/bookings/{view.viewer_booking_id}/calendar.ics"
                         if view.viewer_booking == BookingStatus.CONFIRMED else None),
        # A learner's Cancel and Move, and the refund policy the confirm dialog states (rules.refund_percent).
        "can_change_booking": changeable,
        "refund_policy": {
            "full_refund_until": iso_utc(rules.full_refund_until(facts, settings)),
            "late_refund_percent": settings.late_refund_percent,
        },
        "can_book": decisions["book"].allowed,
        "can_join": decisions["join"].allowed,
        "can_go_live": decisions["go_live"].allowed,
        "can_enter_room": decisions["enter_room"].allowed,
        "can_edit": decisions["edit"].allowed,
        "can_cancel": decisions["cancel"].allowed,
        "reasons": reasons,
    }
