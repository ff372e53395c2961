"""Booking seats: taking and releasing them atomically, free bookings, and the seams payments fill.

A seat is taken by one conditional UPDATE (`seats_taken < capacity` and a bookable status),
and the Booking row is written in the same transaction, so neither a full session nor a second
booking by the same learner can slip through concurrent requests on SQLite or PostgreSQL: the
UPDATE serialises writers on the session row and the unique (session_id, learner_id) constraint
rolls back the loser together with its seat.

Paid sessions: `PAID_BOOKINGS` is the single place the payments code plugs in (a flow that holds a
seat with `claim_seat(..., status=PENDING_PAYMENT)` and creates the Razorpay order, and refunds the
captured payments of a session being cancelled). Bookings never import payments: the flow is
registered at app creation, and without it paid sessions answer 409.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import rules
from models.clock import iso_utc
from models.enums import BookingStatus, SessionStatus
from models.rules import BOOKABLE, HOLDING_SEAT
from models.tables import Booking, MentorSession, User
from web.bookings.tasks import schedule_session_reminder
from web.errors import conflict, forbidden
from web.http.identity import Identity
from web.keys import CLOCK, DB
from web.realtime.channels import learner_channel, mentor_channel, session_channel
from web.realtime.outbox import UnitOfWork, unit_of_work
from web.sessions.queries import bookings_of, fresh_view, get_session_row
from web.sessions.schemas import SessionView
from web.sessions.service import CANCEL_BOOKINGS
from web.sessions.timing import facts_of

ALREADY_BOOKED = "You have already booked this session."
PAID_BOOKING_UNAVAILABLE = "Paid booking is not available yet"


class PaidBookingFlow(Protocol):
    async def start(self, request: web.Request, identity: Identity, session: MentorSession) -> web.Response:
        """Hold a seat with a pending_payment booking (see `claim_seat`), create the Razorpay order,
        and answer 201 `{"booking", "session", "checkout"}` as docs/api-sessions-contract.md says."""
        ...

    async def refund_cancelled(self, s: AsyncSession, session: MentorSession, bookings: Sequence[Booking],
                               now: datetime) -> None:
        """`session` is being cancelled: refund the captured payments among `bookings` (marking those
        bookings refunded) and close unpaid holds' orders, in the caller's transaction."""
        ...

    async def refund_booking(self, s: AsyncSession, booking: Booking, percent: int, now: datetime) -> int:
        """The learner cancels `booking`: refund `percent` of its captured payment and close an unpaid order,
        in the caller's transaction; the booking ends refunded or cancelled. Returns the paise refunded."""
        ...


# Set by the payments code in create_app; while absent, paid sessions answer 409.
PAID_BOOKINGS: web.AppKey[PaidBookingFlow] = web.AppKey("paid_bookings")


async def take_seat(s: AsyncSession, session: MentorSession) -> bool:
    """Take one seat if the session is still bookable, still at the time the caller checked, and not full.

    Must be the first statement of its transaction: on SQLite it takes the write lock before
    anything is read, so concurrent bookings queue instead of failing with a stale snapshot.
    """
    result = await s.execute(
        update(MentorSession)
        .where(
            col(MentorSession.id) == session.id,
            col(MentorSession.seats_taken) < col(MentorSession.capacity),
            col(MentorSession.status).in_(BOOKABLE),
            # The caller judged "before the end" against this start and duration; an edit in
            # between must not let a booking through on stale facts.
            col(MentorSession.start_at) == session.start_at,
            col(MentorSession.duration_minutes) == session.duration_minutes,
            # Free or paid, and the amount an order was made for, were decided on this price: a
            # mentor's edit committed in between (allowed while no seat was taken) must refuse the seat.
            col(MentorSession.price_paise) == session.price_paise,
            col(MentorSession.currency) == session.currency,
        )
        .values(seats_taken=col(MentorSession.seats_taken) + 1)
    )
    return _rowcount(result) == 1


async def release_seat(s: AsyncSession, session_id: int, seats: int = 1) -> None:
    await s.execute(
        update(MentorSession)
        .where(col(MentorSession.id) == session_id, col(MentorSession.seats_taken) >= seats)
        .values(seats_taken=col(MentorSession.seats_taken) - seats)
    )


async def claim_seat(
    s: AsyncSession,
    session: MentorSession,
    learner_id: int,
    now: datetime,
    *,
    status: BookingStatus,
    hold_expires_at: datetime | None = None,
) -> Booking:
    """Take a seat and write the learner's booking in the caller's transaction.

    Raises 409 (after rolling back) when the session filled up or changed, or the learner
    already holds a seat. The caller commits.
    """
    assert session.id is not None
    if not await take_seat(s, session):
        await s.rollback()
        raise conflict(await why_no_seat(s, session.id))
    confirmed_at = now if status == BookingStatus.CONFIRMED else None
    try:
        # A learner whose earlier booking was cancelled (e.g. an unpaid hold ran out) books again on the same row.
        revived = await s.execute(
            update(Booking)
            .where(
                col(Booking.session_id) == session.id,
                col(Booking.learner_id) == learner_id,
                col(Booking.status).in_([BookingStatus.CANCELLED, BookingStatus.REFUNDED]),
            )
            .values(status=status, created_at=now, confirmed_at=confirmed_at, cancelled_at=None,
                    hold_expires_at=hold_expires_at)
        )
        if _rowcount(revived) == 1:
            booking = (await s.exec(
                select(Booking).where(col(Booking.session_id) == session.id, col(Booking.learner_id) == learner_id)
            )).one()
        else:
            booking = Booking(session_id=session.id, learner_id=learner_id, status=status, created_at=now,
                              confirmed_at=confirmed_at, hold_expires_at=hold_expires_at)
            s.add(booking)
            await s.flush()
    except IntegrityError:
        await s.rollback()
        raise conflict(ALREADY_BOOKED) from None
    return booking


async def why_no_seat(s: AsyncSession, session_id: int) -> str:
    current = await s.get(MentorSession, session_id, populate_existing=True)
    if current is None or current.status not in BOOKABLE:
        closed: dict[str, str] = {SessionStatus.CANCELLED: "This session was cancelled.",
                  SessionStatus.ENDED: "This session has ended."}
        return closed.get(current.status if current else "", "This session can't be booked.")
    if current.seats_taken >= current.capacity:
        return "This session is full."
    return "This session was just changed by its mentor. Reload and try again."


async def check_booking(app: web.Application, identity: Identity, session_id: int) -> tuple[MentorSession, User]:
    """Judge a learner's Book ▶ against the rules of time and seats (read only); 409/403 say why not.

    Book ▶ again on a paid session with an unpaid hold passes: it resumes that checkout.
    """
    async with app[DB].session() as s:
        row = await get_session_row(s, session_id)
        learner = await s.get(User, identity.user_id)
        if learner is None:
            raise forbidden("Your account no longer exists.")
        status = (await bookings_of(s, identity.user_id, [session_id])).get(session_id)
    if row.mentor_id == identity.user_id:
        raise forbidden("You can't book your own session.")
    resuming = row.price_paise > 0 and status == BookingStatus.PENDING_PAYMENT
    facts = facts_of(row)
    if resuming:
        # That hold is one of the seats taken: a session it fills is not full to its own learner.
        facts = dataclasses.replace(facts, seats_taken=max(0, facts.seats_taken - 1))
    decision = rules.can_book(facts, app[CLOCK].now(), learner_id=identity.user_id,
                              booking_status=None if resuming else status)
    if not decision:
        raise conflict(decision.reason)
    return row, learner


async def book_free(app: web.Application, session: MentorSession, learner: User) -> tuple[Booking, SessionView]:
    """A confirmed booking of a free session, in one unit of work; returns it and the session as the learner
    now sees it."""
    assert learner.id is not None
    async with unit_of_work(app) as work:
        booking = await claim_seat(work.s, session, learner.id, app[CLOCK].now(), status=BookingStatus.CONFIRMED)
        view = await confirm(work, session, learner, booking)
        await work.s.commit()
    return booking, view


async def confirm(work: UnitOfWork, session: MentorSession, learner: User, booking: Booking) -> SessionView:
    """The one place a booking becomes confirmed, free (a seat just claimed) or paid (web.payments.settlement).

    In the caller's unit of work, once the booking row says confirmed: both sides are notified, the
    "starts soon" reminder is scheduled, and the events of docs/api-sessions-contract.md are queued for
    after the commit (`new_booking` to the mentor and the session's followers, `booking_confirmed` to the
    learner). Returns the session's view read in this transaction, as the learner sees it. The caller commits.
    """
    assert learner.id is not None and session.id is not None
    data = {"session_id": session.id, "booking_id": booking.id, "start_at": iso_utc(session.start_at)}
    await work.notify(user_id=session.mentor_id, kind="new_booking", title="New booking",
                      body=f"{learner.name} booked “{session.title}”.", data=data)
    await work.notify(user_id=learner.id, kind="booking_confirmed", title="Booking confirmed",
                      body=f"You're booked for “{session.title}”.", data=data)
    schedule_session_reminder(work.app, work.s, mentor_session=session, learner_id=learner.id)
    view = await fresh_view(work.s, session.id, Identity(learner.id, learner.role))
    new_booking = {
        "session_id": session.id,
        "booked_count": view.confirmed_bookings,
        "seats_left": max(0, view.session.capacity - view.session.seats_taken),
        "learner": {"id": learner.id, "name": learner.name},
    }
    work.publish(mentor_channel(session.mentor_id), "new_booking", new_booking)
    work.publish(session_channel(session.id), "new_booking", new_booking)
    work.publish(learner_channel(learner.id), "booking_confirmed", {"session_id": session.id, "booking_id": booking.id})
    return view


async def cancel_session_bookings(s: AsyncSession, session: MentorSession, now: datetime,
                                  paid: PaidBookingFlow | None) -> list[Booking]:
    """Cancel every booking holding a seat on a session being cancelled; returns them. The caller commits.

    The paid-booking flow refunds the captured payments first and marks those bookings refunded, so the
    loop below leaves them alone; every seat is released. Free bookings have no payment.
    """
    assert session.id is not None
    active = list((await s.exec(
        select(Booking).where(col(Booking.session_id) == session.id, col(Booking.status).in_(HOLDING_SEAT))
    )).all())
    if paid is not None:
        await paid.refund_cancelled(s, session, active, now)
    for booking in active:
        if booking.status in HOLDING_SEAT:
            booking.status = BookingStatus.CANCELLED
            booking.cancelled_at = now
            s.add(booking)
    if active:
        await release_seat(s, session.id, len(active))
    await s.flush()
    return active


def setup_bookings(app: web.Application) -> None:
    """Cancelling a session (web.sessions.service) ends its bookings through this registration."""

    async def cancel_bookings(s: AsyncSession, session: MentorSession, now: datetime) -> list[Booking]:
        return await cancel_session_bookings(s, session, now, app.get(PAID_BOOKINGS))

    app[CANCEL_BOOKINGS] = cancel_bookings


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)

