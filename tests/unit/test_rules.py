"""The rules of time and state at their boundaries: exactly at the edge, one second either side."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models import rules
from models.rules import SessionFacts, TimeSettings

START = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
SETTINGS = TimeSettings()
SESSION = SessionFacts(status="scheduled", start_at=START, duration_minutes=60, capacity=3, seats_taken=0,
                       mentor_id=1, confirmed_bookings=0)


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (START - timedelta(minutes=15) - SECOND, False),
        (START - timedelta(minutes=15), True),
        (START - timedelta(minutes=15) + SECOND, True),
        (START + timedelta(minutes=59, seconds=59), True),
        (START + timedelta(minutes=60), False),
    ],
)
def test_go_live_opens_exactly_fifteen_minutes_before_start(now: datetime, allowed: bool) -> None:
    decision = rules.can_go_live(SESSION, now, SETTINGS)
    assert decision.allowed is allowed
    assert bool(decision.reason) is not allowed


@pytest.mark.parametrize("status", ["live", "ended", "cancelled"])
def test_go_live_needs_a_scheduled_session(status: str) -> None:
    decision = rules.can_go_live(replace(SESSION, status=status), START, SETTINGS)
    assert not decision
    assert decision.reason


def test_go_live_lead_comes_from_settings() -> None:
    settings = TimeSettings(go_live_lead=timedelta(minutes=30))
    assert rules.can_go_live(SESSION, START - timedelta(minutes=30), settings)
    assert not rules.can_go_live(SESSION, START - timedelta(minutes=30) - SECOND, settings)


def test_enter_room_needs_a_confirmed_booking_or_live() -> None:
    assert not rules.can_enter_room(SESSION)
    assert "book" in rules.can_enter_room(SESSION).reason
    assert rules.can_enter_room(replace(SESSION, confirmed_bookings=1))
    assert rules.can_enter_room(replace(SESSION, status="live"))
    assert not rules.can_enter_room(replace(SESSION, status="cancelled", confirmed_bookings=2))
    assert not rules.can_enter_room(replace(SESSION, status="ended", confirmed_bookings=2))


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (START - timedelta(minutes=5) - SECOND, True),
        (START - timedelta(minutes=5), False),
        (START - timedelta(minutes=4, seconds=59), False),
        (START + timedelta(minutes=1), False),
    ],
)
def test_edit_and_cancel_close_five_minutes_before_start(now: datetime, allowed: bool) -> None:
    assert rules.can_edit(SESSION, now, SETTINGS).allowed is allowed
    assert rules.can_cancel(SESSION, now, SETTINGS).allowed is allowed


@pytest.mark.parametrize("status", ["live", "ended", "cancelled"])
def test_edit_and_cancel_need_a_scheduled_session(status: str) -> None:
    early = START - timedelta(days=1)
    assert not rules.can_edit(replace(SESSION, status=status), early, SETTINGS)
    assert not rules.can_cancel(replace(SESSION, status=status), early, SETTINGS)


def test_book_an_open_session() -> None:
    assert rules.can_book(SESSION, START - timedelta(days=1), learner_id=2, booking_status=None)


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (START + timedelta(minutes=60) - SECOND, True),
        (START + timedelta(minutes=60), False),
    ],
)
def test_book_until_the_end(now: datetime, allowed: bool) -> None:
    assert rules.can_book(SESSION, now, learner_id=2, booking_status=None).allowed is allowed
    live = replace(SESSION, status="live")
    assert rules.can_book(live, now, learner_id=2, booking_status=None).allowed is allowed


def test_book_refuses_full_closed_own_and_already_booked() -> None:
    before = START - timedelta(hours=1)
    assert rules.can_book(replace(SESSION, seats_taken=2), before, learner_id=2, booking_status=None)
    full = rules.can_book(replace(SESSION, seats_taken=3), before, learner_id=2, booking_status=None)
    assert not full and "full" in full.reason
    for status in ("cancelled", "ended"):
        assert not rules.can_book(replace(SESSION, status=status), before, learner_id=2, booking_status=None)
    own = rules.can_book(SESSION, before, learner_id=1, booking_status=None)
    assert not own and "own" in own.reason
    for held in ("confirmed", "pending_payment"):
        again = rules.can_book(SESSION, before, learner_id=2, booking_status=held)
        assert not again and "already" in again.reason
    for released in ("cancelled", "refunded"):
        assert rules.can_book(SESSION, before, learner_id=2, booking_status=released)


def test_book_without_a_learner_judges_the_session_alone() -> None:
    assert rules.can_book(SESSION, START, learner_id=None, booking_status=None)
    assert not rules.can_book(replace(SESSION, seats_taken=3), START, learner_id=None, booking_status=None)


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (START - timedelta(minutes=5) - SECOND, False),
        (START - timedelta(minutes=5), True),
        (START + timedelta(minutes=59, seconds=59), True),
        (START + timedelta(minutes=60), False),
    ],
)
def test_join_opens_five_minutes_before_start(now: datetime, allowed: bool) -> None:
    assert rules.can_join(SESSION, now, SETTINGS, booking_status="confirmed").allowed is allowed


def test_join_opens_early_once_live() -> None:
    early = START - timedelta(hours=2)
    assert not rules.can_join(SESSION, early, SETTINGS, booking_status="confirmed")
    assert rules.can_join(replace(SESSION, status="live"), early, SETTINGS, booking_status="confirmed")


def test_join_needs_a_confirmed_booking() -> None:
    at_start = START
    for status in (None, "pending_payment", "cancelled", "refunded"):
        decision = rules.can_join(replace(SESSION, status="live"), at_start, SETTINGS, booking_status=status)
        assert not decision and decision.reason
    for status in ("ended", "cancelled"):
        assert not rules.can_join(replace(SESSION, status=status), at_start, SETTINGS, booking_status="confirmed")


def test_end_needs_live() -> None:
    assert rules.can_end(replace(SESSION, status="live"))
    for status in ("scheduled", "ended", "cancelled"):
        assert not rules.can_end(replace(SESSION, status=status))


def test_live_request_expires_exactly_at_its_expiry() -> None:
    expires = START + timedelta(hours=48)
    assert rules.live_request_status("pending", expires, expires - SECOND) == "pending"
    assert rules.live_request_status("pending", expires, expires) == "expired"
    assert rules.live_request_status("accepted", expires, expires + timedelta(days=9)) == "accepted"
    assert rules.can_answer_live_request("pending", expires, expires - SECOND)
    late = rules.can_answer_live_request("pending", expires, expires)
    assert not late and "expired" in late.reason
    assert not rules.can_answer_live_request("declined", expires, START)


def test_window_edges_are_reported() -> None:
    assert rules.go_live_opens_at(SESSION, SETTINGS) == START - timedelta(minutes=15)
    assert rules.join_opens_at(SESSION, SETTINGS) == START - timedelta(minutes=5)
    assert rules.edit_closes_at(SESSION, SETTINGS) == START - timedelta(minutes=5)
    assert SESSION.end_at == START + timedelta(hours=1)
