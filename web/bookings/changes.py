"""A learner changes their own booking: cancel it (with the refund the policy promises) or move it.

Both are allowed until the session's edit window closes (T-5, `rules.can_change_booking`). Each is
judged first in a read session, then done in one unit of work whose first statement is a guarded
write (the booking's status, or the target's seat), so two changes of one booking, or a change racing
a new booking for the freed seat, serialise on SQLite and PostgreSQL and the loser gets a 409.

Money goes through `PAID_BOOKINGS` (bookings never import payments): a cancelled paid booking is
refunded in full until `[payments] full_refund_hours` before the start and by `late_refund_percent`
after that, by the durable refund job; a move keeps the payment, since both sessions cost the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import rules
from models.clock import iso_utc
from models.enums import BookingStatus
from models.rules import HOLDING_SEAT
from models.tables import Booking, MentorSession, Payment, User
from web.bookings.service import PAID_BOOKINGS, release_seat, take_seat, why_no_seat
from web.bookings.tasks import schedule_session_reminder
from web.errors import conflict, forbidden, not_found
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG, DB
from web.money import inr
from web.realtime.channels import learner_channel, mentor_channel, session_channel
from web.realtime.outbox import UnitOfWork, unit_of_work
from web.sessions.queries import fresh_view, get_session_row
from web.sessions.schemas import SessionView
from web.sessions.timing import facts_of, time_settings

CHANGED_MEANWHILE = "This booking was just changed. Reload and try again."


@dataclass(frozen=True)
class Cancelled:
    booking: Booking
    view: SessionView
    refund_paise: int
    refund_percent: int


@dataclass(frozen=True)
class Moved:
    booking: Booking
    source: SessionView
    target: SessionView


def rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _own_booking(s: AsyncSession, identity: Identity, booking_id: int) -> Booking:
    booking = await s.get(Booking, booking_id)
    # Someone else's booking reads as missing: its id tells a stranger nothing.
    if booking is None or booking.learner_id != identity.user_id:
        raise not_found("No such booking.")
    return booking


async def cancel_booking(app: web.Application, identity: Identity, booking_id: int) -> Cancelled:
    settings = time_settings(app[CONFIG])
    async with app[DB].session() as s:
        booking = await _own_booking(s, identity, booking_id)
        session = await get_session_row(s, booking.session_id)
        learner = await s.get(User, identity.user_id)
    if learner is None:
        raise forbidden("Your account no longer exists.")
    seen = booking.status
    decision = rules.can_change_booking(facts_of(session), app[CLOCK].now(), settings, booking_status=seen)
    if not decision:
        raise conflict(decision.reason)
    paid = app.get(PAID_BOOKINGS)
    assert session.id is not None and learner.id is not None
    now = app[CLOCK].now()
    async with unit_of_work(app) as work:
        s = work.s
        claimed = await s.execute(
            update(Booking)
            .where(col(Booking.id) == booking_id, col(Booking.session_id) == session.id,
                   col(Booking.status) == seen)
            .values(status=BookingStatus.CANCELLED, cancelled_at=now, hold_expires_at=None)
        )
        if rowcount(claimed) != 1:
            await s.rollback()
            raise conflict(CHANGED_MEANWHILE)
        # Judged again on the row as it stands now: the mentor may have moved the start meanwhile.
        current = await s.get(MentorSession, session.id, populate_existing=True)
        assert current is not None
        decision = rules.can_change_booking(facts_of(current), now, settings, booking_status=seen)
        if not decision:
            await s.rollback()
            raise conflict(decision.reason)
        percent = rules.refund_percent(facts_of(current), now, settings)
        row = await s.get(Booking, booking_id, populate_existing=True)
        assert row is not None
        refund_paise = await paid.refund_booking(s, row, percent, now) if paid is not None else 0
        await release_seat(s, session.id)
        view = await fresh_view(s, session.id, identity)
        await _tell_cancelled(work, current, learner, row, view, _refund_words(current, seen, refund_paise))
        await s.commit()
    return Cancelled(row, view, refund_paise, percent if current.price_paise > 0 else 0)


def _refund_words(session: MentorSession, status: str, refund_paise: int) -> str:
    if session.price_paise <= 0 or status != BookingStatus.CONFIRMED:
        return ""
    if refund_paise > 0:
        return f" {inr(refund_paise)} is being refunded to you."
    return " No refund is due this close to the start."


async def _tell_cancelled(work: UnitOfWork, session: MentorSession, learner: User, booking: Booking,
                          view: SessionView, refund_words: str) -> None:
    assert session.id is not None and learner.id is not None
    data = {"session_id": session.id, "booking_id": booking.id, "start_at": iso_utc(session.start_at)}
    await work.notify(user_id=session.mentor_id, kind="booking_cancelled", title="Booking cancelled",
                      body=f"{learner.name} cancelled their booking of “{session.title}”.", data=data)
    await work.notify(user_id=learner.id, kind="booking_cancelled", title="Booking cancelled",
                      body=f"You cancelled your booking of “{session.title}”.{refund_words}", data=data)
    _publish_count(work, session, view, learner, "booking_cancelled")
    work.publish(learner_channel(learner.id), "booking_cancelled",
                 {"session_id": session.id, "booking_id": booking.id, "status": booking.status})


def _publish_count(work: UnitOfWork, session: MentorSession, view: SessionView, learner: User, event: str) -> None:
    """The mentor's Booked (N) and everyone's seats left, as `new_booking` carries them."""
    assert session.id is not None
    counts = {
        "session_id": session.id,
        "booked_count": view.confirmed_bookings,
        "seats_left": max(0, view.session.capacity - view.session.seats_taken),
        "learner": {"id": learner.id, "name": learner.name},
    }
    work.publish(mentor_channel(session.mentor_id), event, counts)
    work.publish(session_channel(session.id), event, counts)


async def move_booking(app: web.Application, identity: Identity, booking_id: int, target_id: int) -> Moved:
    """Move a confirmed booking to another upcoming session of the same mentor at the same price.

    The booking row itself moves (its payment with it), so no new payment is made. A cancelled row the
    learner left on the target earlier gives way: its payment history joins the moving booking.
    """
    settings = time_settings(app[CONFIG])
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        booking = await _own_booking(s, identity, booking_id)
        source = await get_session_row(s, booking.session_id)
        if target_id == source.id:
            raise conflict("The booking is already on this session.")
        target = await get_session_row(s, target_id)
        earlier = await _learner_row(s, target_id, identity.user_id)
        learner = await s.get(User, identity.user_id)
    if learner is None:
        raise forbidden("Your account no longer exists.")
    decision = rules.can_change_booking(facts_of(source), now, settings, booking_status=booking.status)
    if decision and booking.status != BookingStatus.CONFIRMED:
        decision = rules.Decision(False, "Only a paid or confirmed booking can be moved.")
    if decision:
        decision = rules.can_move_to(
            facts_of(source), facts_of(target), now, learner_id=identity.user_id,
            target_booking=earlier.status if earlier else None,
            same_price=(target.price_paise, target.currency) == (source.price_paise, source.currency))
    if not decision:
        raise conflict(decision.reason)
    assert source.id is not None and target.id is not None and learner.id is not None
    async with unit_of_work(app) as work:
        s = work.s
        # The target's seat first: on SQLite this takes the write lock before anything is read.
        if not await take_seat(s, target):
            await s.rollback()
            raise conflict(await why_no_seat(s, target.id))
        earlier = await _learner_row(s, target.id, learner.id)
        if earlier is not None:
            if earlier.status in HOLDING_SEAT:
                await s.rollback()
                raise conflict("You have already booked that session.")
            await s.execute(update(Payment).where(col(Payment.booking_id) == earlier.id)
                            .values(booking_id=booking_id))
            await s.execute(delete(Booking).where(col(Booking.id) == earlier.id))
        moved = await s.execute(
            update(Booking)
            .where(col(Booking.id) == booking_id, col(Booking.session_id) == source.id,
                   col(Booking.status) == BookingStatus.CONFIRMED)
            .values(session_id=target.id)
        )
        if rowcount(moved) != 1:
            await s.rollback()
            raise conflict(CHANGED_MEANWHILE)
        current = await s.get(MentorSession, source.id, populate_existing=True)
        assert current is not None
        decision = rules.can_change_booking(facts_of(current), now, settings, booking_status=BookingStatus.CONFIRMED)
        if not decision:
            await s.rollback()
            raise conflict(decision.reason)
        await release_seat(s, source.id)
        row = await s.get(Booking, booking_id, populate_existing=True)
        assert row is not None
        schedule_session_reminder(app, s, mentor_session=target, learner_id=learner.id)
        source_view = await fresh_view(s, source.id, identity)
        target_view = await fresh_view(s, target.id, identity)
        await _tell_moved(work, current, target, learner, row, source_view, target_view)
        await s.commit()
    return Moved(row, source_view, target_view)


async def _learner_row(s: AsyncSession, session_id: int, learner_id: int) -> Booking | None:
    return (await s.exec(select(Booking).where(
        col(Booking.session_id) == session_id, col(Booking.learner_id) == learner_id))).first()


async def _tell_moved(work: UnitOfWork, source: MentorSession, target: MentorSession, learner: User,
                      booking: Booking, source_view: SessionView, target_view: SessionView) -> None:
    assert learner.id is not None
    data = {"session_id": target.id, "from_session_id": source.id, "booking_id": booking.id,
            "start_at": iso_utc(target.start_at)}
    await work.notify(user_id=target.mentor_id, kind="booking_moved", title="Booking moved",
                      body=f"{learner.name} moved their booking from “{source.title}” to “{target.title}”.",
                      data=data)
    await work.notify(user_id=learner.id, kind="booking_moved", title="Booking moved",
                      body=f"Your booking moved from “{source.title}” to “{target.title}”.", data=data)
    _publish_count(work, source, source_view, learner, "booking_cancelled")
    _publish_count(work, target, target_view, learner, "new_booking")
    work.publish(learner_channel(learner.id), "booking_moved",
                 {"session_id": target.id, "from_session_id": source.id, "booking_id": booking.id})
