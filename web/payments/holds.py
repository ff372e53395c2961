"""Seat holds that run out, and holds orphaned before their order existed.

`payment_hold_expiry`, due when a paid booking's hold ends, asks Razorpay before expiring, so a payment
whose browser never came back and whose webhook has not arrived yet still confirms the booking.

`payment_order_check`, due `order_deadline` (the gateway's timeout and a margin) after the seat was
claimed, releases the hold at once when its order was never stored: the process died between taking
the seat and creating the order. Both jobs are scheduled in the same transaction as the hold itself,
so a crash costs the seat seconds, not the whole hold. The learner's own retry does the same sooner
(web.payments.checkout).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, PaymentStatus
from models.tables import Booking, MentorSession, Payment
from web.keys import CLOCK, DB
from web.payments.gateway import PaymentGatewayError
from web.payments.runtime import PAYMENTS
from web.payments.settlement import Outcome, cancel_hold, confirm_payment
from web.realtime.outbox import unit_of_work

log = logging.getLogger(__name__)

PAYMENT_HOLD_EXPIRY = "payment_hold_expiry"
PAYMENT_ORDER_CHECK = "payment_order_check"
EXPIRED = "The payment window ended before a payment arrived."


async def _captured_payment(app: web.Application, order_id: str) -> dict[str, Any] | None:
    """A captured payment on the order, per Razorpay; None when there is none or Razorpay is down."""
    gateway = app[PAYMENTS].gateway
    try:
        order = await gateway.fetch_order(order_id)
        if order.get("status") != "paid" and not order.get("amount_paid"):
            return None
        payments = await gateway.order_payments(order_id)
    except PaymentGatewayError as exc:
        # Expire anyway rather than keep the seat from others: a capture we could not see still
        # arrives by webhook (Razorpay retries for a day) and is confirmed or refunded as late.
        log.warning("hold check for %s could not reach Razorpay: %s", order_id, exc)
        return None
    # Not "refunded": money Razorpay already gave back must not confirm a seat.
    return next((p for p in payments if p.get("status") == "captured"), None)


async def expire_hold(app: web.Application, booking_id: int) -> None:
    clock = app[CLOCK]
    now = clock.now()
    async with app[DB].session() as s:
        booking = await s.get(Booking, booking_id)
        if booking is None or booking.status != BookingStatus.PENDING_PAYMENT:
            return
        # A booking revived with a new hold has its own, later job.
        if booking.hold_expires_at is not None and booking.hold_expires_at > now:
            return
        orders = list((await s.exec(select(Payment.razorpay_order_id).where(  # type: ignore[call-overload]
            col(Payment.booking_id) == booking_id, col(Payment.status) == PaymentStatus.CREATED))).all())
    for order_id in orders:
        captured = await _captured_payment(app, order_id)
        if captured is not None:
            amount, currency = captured.get("amount"), captured.get("currency")
            settled = await confirm_payment(app, order_id, str(captured["id"]),
                                            amount_paise=amount if isinstance(amount, int) else None,
                                            currency=currency if isinstance(currency, str) else None)
            if settled.outcome in (Outcome.CONFIRMED, Outcome.UNCHANGED):
                return
    async with unit_of_work(app) as work:
        s = work.s
        # Payments first, as every settlement does: a capture racing this expiry either wins the
        # payment row (and this finds nothing to fail) or loses it and is handled as a late payment.
        # Only the orders and the hold judged above: while Razorpay was asked, the learner may have
        # booked again (a new hold with a new order on the same row), which is not this job's to end.
        await s.execute(
            update(Payment)
            .where(col(Payment.booking_id) == booking_id, col(Payment.status) == PaymentStatus.CREATED,
                   col(Payment.razorpay_order_id).in_(orders))
            .values(status=PaymentStatus.FAILED, failure_reason=EXPIRED)
        )
        booking = await cancel_hold(s, booking_id, now, expired_by=now)
        if booking is None:
            await s.commit()
            return
        session = await s.get(MentorSession, booking.session_id)
        await work.notify(
            user_id=booking.learner_id, kind="hold_expired", title="Seat hold expired",
            body=f"No payment arrived for “{session.title if session else 'your session'}”, so the seat was released.",
            data={"session_id": booking.session_id, "booking_id": booking.id},
        )
        await s.commit()


async def has_open_order(s: AsyncSession, booking_id: int) -> bool:
    found = (await s.exec(select(Payment.id).where(  # type: ignore[call-overload]
        col(Payment.booking_id) == booking_id, col(Payment.status) == PaymentStatus.CREATED))).first()
    return found is not None


async def release_orphan_hold(app: web.Application, booking_id: int, claimed_at: datetime) -> bool:
    """Release a pending hold claimed at `claimed_at` that has no order; True when it was released.

    `claimed_at` pins the hold judged: a booking row revived later by a new Book ▶ is not this one.
    """
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        booking = await s.get(Booking, booking_id)
        if booking is None or booking.status != BookingStatus.PENDING_PAYMENT or booking.created_at != claimed_at:
            return False
        if await has_open_order(s, booking_id):
            return False
        released = await cancel_hold(s, booking_id, now)
        await s.commit()
    if released is not None:
        log.warning("released the seat hold of booking %s: its order was never created", booking_id)
    return released is not None
