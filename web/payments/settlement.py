"""The single place a payment changes a booking: captured → confirmed (or refunded), failed → seat released.

Checkout's handler, the webhook and the hold-expiry check all arrive here, in any order and any
number of times. Each transaction starts with a conditional UPDATE on the payment row
(`WHERE status = 'created'`): on PostgreSQL concurrent callers queue on that row and all but one
match nothing; on SQLite the UPDATE takes the database's write lock before anything is read. So
exactly one caller moves a payment, states only move forward, and the booking changes in the same
transaction as its payment.

A capture that finds its payment already failed (the hold expired, the learner closed Checkout,
the session was cancelled) is a late payment: the learner gets the seat back if one is free,
otherwise the money goes back through a refund job. Money is never kept without a booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aiohttp import web
from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, PaymentStatus
from models.tables import Booking, MentorSession, Payment, User
from web.bookings.service import confirm, release_seat, take_seat
from web.http.identity import Identity
from web.keys import CLOCK, DB
from web.money import inr
from web.payments.refunds import mark_for_refund
from web.realtime.outbox import unit_of_work
from web.sessions.queries import fresh_view
from web.sessions.schemas import SessionView


class Outcome(StrEnum):
    CONFIRMED = "confirmed"  # this call confirmed the booking
    UNCHANGED = "unchanged"  # already settled by an earlier call (browser, webhook or hold check)
    REFUNDING = "refunding"  # paid, but no seat to give: a refund is on its way
    RELEASED = "released"  # this call ended an unpaid hold
    UNKNOWN = "unknown"  # no payment row for this order


@dataclass(frozen=True)
class Settlement:
    outcome: Outcome
    payment: Payment | None = None
    booking: Booking | None = None
    # Read in the settling transaction when the caller asked for them (a viewer): what verify answers with.
    learner: User | None = None
    view: SessionView | None = None


LATE_NO_SEAT = ("Your payment arrived after your seat hold ended and no seat could be given back "
                "(the session is full, cancelled, over or no longer at the price you paid), "
                "so it is being refunded in full.")
DUPLICATE = "You had already paid for this booking, so this second payment is being refunded in full."
WRONG_AMOUNT = ("Razorpay captured an amount or currency other than your order's, so the booking was not "
                "confirmed and the payment is being refunded in full. Please book again.")


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _move_payment(s: AsyncSession, order_id: str, frm: PaymentStatus, **values: Any) -> bool:
    result = await s.execute(
        update(Payment)
        .where(col(Payment.razorpay_order_id) == order_id, col(Payment.status) == frm)
        .values(**values)
    )
    return _rowcount(result) == 1


async def _payment_by_order(s: AsyncSession, order_id: str) -> Payment | None:
    query = select(Payment).where(Payment.razorpay_order_id == order_id).execution_options(populate_existing=True)
    return (await s.exec(query)).first()


class _BookingMoved(Exception):
    """The booking changed between reading it and confirming it; the settlement starts again."""


async def confirm_payment(app: web.Application, order_id: str, payment_id: str, *,
                          amount_paise: int | None = None, currency: str | None = None,
                          viewer: Identity | None = None) -> Settlement:
    """Razorpay says `payment_id` captured `order_id` (a verified signature, webhook or order fetch).

    `amount_paise` and `currency` are what Razorpay says was captured, when the caller knows: money
    that is not the order's amount confirms nothing and is refunded. With `viewer`, the settlement
    carries the learner and the session's view as the viewer sees it, read in the same transaction.
    """
    for _ in range(4):
        try:
            return await _confirm_payment(app, order_id, payment_id, amount_paise, currency, viewer)
        except _BookingMoved:
            continue
    raise RuntimeError(f"booking of order {order_id} kept changing while its payment was confirmed")


async def _confirm_payment(app: web.Application, order_id: str, payment_id: str, amount_paise: int | None,
                           currency: str | None, viewer: Identity | None) -> Settlement:
    now = app[CLOCK].now()
    captured = {"status": PaymentStatus.CAPTURED, "razorpay_payment_id": payment_id, "verified_at": now,
                "failure_reason": None}
    async with unit_of_work(app) as work:
        s = work.s
        if not (await _move_payment(s, order_id, PaymentStatus.CREATED, **captured)
                or await _move_payment(s, order_id, PaymentStatus.FAILED, **captured)):
            payment = await _payment_by_order(s, order_id)
            if payment is None:
                return Settlement(Outcome.UNKNOWN)
            return await _settled(s, Outcome.UNCHANGED, payment, await s.get(Booking, payment.booking_id), viewer)
        payment = await _payment_by_order(s, order_id)
        assert payment is not None
        booking = await s.get(Booking, payment.booking_id, populate_existing=True)
        session = await s.get(MentorSession, booking.session_id) if booking else None
        learner = await s.get(User, booking.learner_id) if booking else None
        assert booking is not None and session is not None and learner is not None
        assert learner.id is not None
        mismatch = ((amount_paise is not None and amount_paise != payment.amount_paise)
                    or (currency is not None and currency != payment.currency))
        # Booking is open until the end (ARCHITECTURE §4): money arriving after it buys nothing.
        over = now >= session.start_at + timedelta(minutes=session.duration_minutes)
        seen = booking.status
        if not mismatch and not over and await _give_seat(s, booking, session, payment):
            # Conditional on the status the seat was judged by: on PostgreSQL the learner may have taken a
            # new hold on this row meanwhile (it then holds its own seat), and a blind write would count two.
            moved = await s.execute(
                update(Booking)
                .where(col(Booking.id) == booking.id, col(Booking.status) == seen)
                .values(status=BookingStatus.CONFIRMED, confirmed_at=now, cancelled_at=None, hold_expires_at=None)
            )
            if _rowcount(moved) != 1:
                await s.rollback()
                raise _BookingMoved
            booking = await s.get(Booking, booking.id, populate_existing=True)
            assert booking is not None
            view = await confirm(work, session, learner, booking)
            await s.commit()
            return Settlement(Outcome.CONFIRMED, payment, booking, learner, view if viewer is not None else None)
        reason = (WRONG_AMOUNT if mismatch else DUPLICATE if booking.status == BookingStatus.CONFIRMED
                  else LATE_NO_SEAT)
        mark_for_refund(s, payment, now)
        if (mismatch or over) and not await _other_open_order(s, payment):
            # Its order is paid and takes no other payment: the hold ends now rather than at its expiry.
            await cancel_hold(s, booking.id or 0, now)
        await work.notify(
            user_id=learner.id, kind="payment_refunding", title="Payment being refunded",
            body=f"{inr(payment.amount_paise)} for “{session.title}”: {reason}",
            data={"session_id": session.id, "booking_id": booking.id, "amount_paise": payment.amount_paise},
        )
        settled = await _settled(s, Outcome.REFUNDING, payment, booking, viewer)
        await s.commit()
    return settled


async def _settled(s: AsyncSession, outcome: Outcome, payment: Payment, booking: Booking | None,
                   viewer: Identity | None) -> Settlement:
    """The settlement, with the learner and the session's view read here when a viewer asked for them."""
    if viewer is None or booking is None:
        return Settlement(outcome, payment, booking)
    booking = await s.get(Booking, booking.id, populate_existing=True)
    assert booking is not None
    learner = await s.get(User, booking.learner_id)
    view = await fresh_view(s, booking.session_id, viewer)
    return Settlement(outcome, payment, booking, learner, view)


async def _other_open_order(s: AsyncSession, payment: Payment) -> bool:
    """Whether the booking holds a newer order still open (the learner booked again after a lapse)."""
    other = (await s.exec(select(Payment.id).where(  # type: ignore[call-overload]
        col(Payment.booking_id) == payment.booking_id, col(Payment.status) == PaymentStatus.CREATED,
        col(Payment.id) != payment.id))).first()
    return other is not None


async def _give_seat(s: AsyncSession, booking: Booking, session: MentorSession, payment: Payment) -> bool:
    """Whether this payment's booking can be confirmed: its hold still has the seat, or a free one is taken now."""
    if booking.status == BookingStatus.CONFIRMED:
        return False  # paid already through another order: this payment is a duplicate
    if booking.status == BookingStatus.PENDING_PAYMENT:
        # The hold still has its seat. If this is an earlier, lapsed order of a learner who has since
        # booked again, it pays for the new hold, whose own order is closed: paying that one too is a
        # duplicate and refunded.
        await s.execute(
            update(Payment)
            .where(col(Payment.booking_id) == booking.id, col(Payment.status) == PaymentStatus.CREATED,
                   col(Payment.id) != payment.id)
            .values(status=PaymentStatus.FAILED, failure_reason="Paid through another order.")
        )
        return True
    # The hold is gone, so nothing kept the price fixed: a payment for an amount the session no longer
    # costs (or a session now free) gets no seat and goes back, rather than confirming at a stale price.
    if payment.amount_paise != session.price_paise or payment.currency != session.currency:
        return False
    return await take_seat(s, session)


async def release_payment(app: web.Application, order_id: str, reason: str) -> Settlement:
    """The payment failed or Checkout was closed: the hold ends and its seat is free for others."""
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        if not await _move_payment(s, order_id, PaymentStatus.CREATED, status=PaymentStatus.FAILED,
                                   failure_reason=reason[:500]):
            payment = await _payment_by_order(s, order_id)
            if payment is None:
                return Settlement(Outcome.UNKNOWN)
            return Settlement(Outcome.UNCHANGED, payment, await s.get(Booking, payment.booking_id))
        payment = await _payment_by_order(s, order_id)
        assert payment is not None
        booking = await cancel_hold(s, payment.booking_id, now)
        await s.commit()
    return Settlement(Outcome.RELEASED, payment, booking)


async def cancel_hold(s: AsyncSession, booking_id: int, now: datetime, *,
                      expired_by: datetime | None = None) -> Booking | None:
    """Cancel a pending booking and free its seat in the caller's transaction; None if it was not pending.

    With `expired_by`, only a hold that ended by then: a hold taken again meanwhile is left alone.
    """
    conditions = [col(Booking.id) == booking_id, col(Booking.status) == BookingStatus.PENDING_PAYMENT]
    if expired_by is not None:
        conditions.append(or_(col(Booking.hold_expires_at).is_(None), col(Booking.hold_expires_at) <= expired_by))
    result = await s.execute(
        update(Booking)
        .where(*conditions)
        .values(status=BookingStatus.CANCELLED, cancelled_at=now, hold_expires_at=None)
    )
    if _rowcount(result) != 1:
        return None
    booking = await s.get(Booking, booking_id, populate_existing=True)
    assert booking is not None
    await release_seat(s, booking.session_id)
    return booking
