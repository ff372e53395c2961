"""The rules of time and state (ARCHITECTURE §4) as pure functions.

Nothing here reads a clock or a database: callers pass the session's facts, the viewer's
booking status and `now`, so the same answers drive the API (409s) and the pages' buttons,
and unit tests can pin every boundary to the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.enums import BookingStatus, LiveRequestStatus, SessionStatus

# A booking in one of these holds a seat; cancelled or refunded ones leave the learner free to book again.
HOLDING_SEAT = (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT)
BOOKABLE = (SessionStatus.SCHEDULED, SessionStatus.LIVE)


@dataclass(frozen=True)
class TimeSettings:
    go_live_lead: timedelta = timedelta(minutes=15)
    edit_cutoff: timedelta = timedelta(minutes=5)
    join_lead: timedelta = timedelta(minutes=5)
    live_request_ttl: timedelta = timedelta(hours=48)
    # A learner's cancellation: in full until this long before the start, then this share of the price.
    full_refund_before: timedelta = timedelta(hours=24)
    late_refund_percent: int = 0


@dataclass(frozen=True)
class SessionFacts:
    """What the rules need to know about one session; `start_at` is aware UTC."""

    status: str
    start_at: datetime
    duration_minutes: int
    capacity: int
    seats_taken: int
    mentor_id: int
    confirmed_bookings: int = 0

    @property
    def end_at(self) -> datetime:
        return self.start_at + timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def _no(reason: str) -> Decision:
    return Decision(False, reason)


def _closed_reason(status: str) -> str:
    reasons: dict[str, str] = {
        SessionStatus.CANCELLED: "This session was cancelled.",
        SessionStatus.ENDED: "This session has ended.",
        SessionStatus.LIVE: "This session is already live.",
    }
    return reasons.get(status, "This session is not scheduled.")


def _at(instant: datetime) -> str:
    return instant.strftime("%H:%M UTC on %d %b %Y")


def go_live_opens_at(s: SessionFacts, settings: TimeSettings) -> datetime:
    return s.start_at - settings.go_live_lead


def edit_closes_at(s: SessionFacts, settings: TimeSettings) -> datetime:
    return s.start_at - settings.edit_cutoff


def join_opens_at(s: SessionFacts, settings: TimeSettings) -> datetime:
    return s.start_at - settings.join_lead


def can_go_live(s: SessionFacts, now: datetime, settings: TimeSettings) -> Decision:
    if s.status != SessionStatus.SCHEDULED:
        return _no(_closed_reason(s.status))
    opens = go_live_opens_at(s, settings)
    if now < opens:
        return _no(f"Go Live opens {int(settings.go_live_lead.total_seconds() // 60)} minutes before the start "
                   f"({_at(opens)}).")
    # Without an upper bound a forgotten session could go live days later and confuse its learners.
    if now >= s.end_at:
        return _no("This session's scheduled time is over.")
    return ALLOWED


def can_enter_room(s: SessionFacts) -> Decision:
    if s.status == SessionStatus.LIVE:
        return ALLOWED
    if s.status != SessionStatus.SCHEDULED:
        return _no(_closed_reason(s.status))
    if s.confirmed_bookings < 1:
        return _no("The room opens once at least one learner has booked.")
    return ALLOWED


def can_observe(s: SessionFacts) -> Decision:
    """An admin entering a room as an observer: only while it is live."""
    if s.status != SessionStatus.LIVE:
        return _no("Observers can enter a room only while its session is live.")
    return ALLOWED


def can_edit(s: SessionFacts, now: datetime, settings: TimeSettings) -> Decision:
    if s.status != SessionStatus.SCHEDULED:
        return _no(_closed_reason(s.status))
    closes = edit_closes_at(s, settings)
    if now >= closes:
        minutes = int(settings.edit_cutoff.total_seconds() // 60)
        return _no(f"Sessions can be changed until {minutes} minutes before the start ({_at(closes)}).")
    return ALLOWED


def can_cancel(s: SessionFacts, now: datetime, settings: TimeSettings) -> Decision:
    # The same window as editing: learners must not find a session gone at the moment they join.
    return can_edit(s, now, settings)


def can_change_booking(s: SessionFacts, now: datetime, settings: TimeSettings, *,
                       booking_status: str | None) -> Decision:
    """A learner cancelling or moving their own booking: until the session's edit window closes (T-5)."""
    if booking_status not in HOLDING_SEAT:
        return _no("You have no booking on this session." if booking_status is None
                   else "This booking was already cancelled.")
    if s.status != SessionStatus.SCHEDULED:
        return _no(_closed_reason(s.status))
    closes = edit_closes_at(s, settings)
    if now >= closes:
        minutes = int(settings.edit_cutoff.total_seconds() // 60)
        return _no(f"Bookings can be cancelled or moved until {minutes} minutes before the start ({_at(closes)}).")
    return ALLOWED


def full_refund_until(s: SessionFacts, settings: TimeSettings) -> datetime:
    return s.start_at - settings.full_refund_before


def refund_percent(s: SessionFacts, now: datetime, settings: TimeSettings) -> int:
    """The share of a paid booking a learner gets back when cancelling at `now`."""
    if now <= full_refund_until(s, settings):
        return 100
    return max(0, min(100, settings.late_refund_percent))


def can_move_to(source: SessionFacts, target: SessionFacts, now: datetime, *, learner_id: int,
                target_booking: str | None, same_price: bool) -> Decision:
    """Whether a learner's booking on `source` may move to `target` (the source's own window is judged apart)."""
    if target.mentor_id != source.mentor_id:
        return _no("A booking can only move to another session of the same mentor.")
    if target.status != SessionStatus.SCHEDULED or now >= target.start_at:
        return _no("A booking can only move to an upcoming session.")
    if not same_price:
        return _no("A booking can only move to a session at the same price.")
    return can_book(target, now, learner_id=learner_id, booking_status=target_booking)


def can_end(s: SessionFacts) -> Decision:
    if s.status != SessionStatus.LIVE:
        return _no("Only a live session can be ended." if s.status == SessionStatus.SCHEDULED
                   else _closed_reason(s.status))
    return ALLOWED


def can_book(
    s: SessionFacts,
    now: datetime,
    *,
    learner_id: int | None,
    booking_status: str | None,
) -> Decision:
    """`learner_id` None asks whether the session itself is open (a signed-out visitor's Book button)."""
    if s.status not in BOOKABLE:
        return _no(_closed_reason(s.status))
    if now >= s.end_at:
        return _no("This session is over.")
    if learner_id is not None and learner_id == s.mentor_id:
        return _no("You can't book your own session.")
    if booking_status in HOLDING_SEAT:
        return _no("You have already booked this session.")
    if s.seats_taken >= s.capacity:
        return _no("This session is full.")
    return ALLOWED


def can_join(s: SessionFacts, now: datetime, settings: TimeSettings, *, booking_status: str | None) -> Decision:
    if booking_status != BookingStatus.CONFIRMED:
        return _no("Book this session to join it." if booking_status is None
                   else "Your booking is not confirmed.")
    if s.status == SessionStatus.LIVE:
        return ALLOWED
    if s.status != SessionStatus.SCHEDULED:
        return _no(_closed_reason(s.status))
    opens = join_opens_at(s, settings)
    if now < opens:
        minutes = int(settings.join_lead.total_seconds() // 60)
        return _no(f"Join opens {minutes} minutes before the start ({_at(opens)}) or when the mentor goes live.")
    if now >= s.end_at:
        return _no("This session is over.")
    return ALLOWED


def live_request_status(status: str, expires_at: datetime, now: datetime) -> str:
    """A pending request past its expiry reads as expired whether or not a job has marked it yet."""
    if status == LiveRequestStatus.PENDING and now >= expires_at:
        return LiveRequestStatus.EXPIRED
    return status


def can_answer_live_request(status: str, expires_at: datetime, now: datetime) -> Decision:
    current = live_request_status(status, expires_at, now)
    if current == LiveRequestStatus.PENDING:
        return ALLOWED
    if current == LiveRequestStatus.EXPIRED:
        return _no("This request has expired.")
    return _no(f"This request was already {current}.")
