"""Giving money back: refunds are scheduled inside the transaction that decides them, and done by a job.

Razorpay is never called inside a database transaction (a slow gateway would hold row locks and
SQLite's write lock); the `payment_refund` job calls it afterwards and is safe to run twice: it
adopts a refund Razorpay already holds for the payment instead of creating a second one.

`Payment.refund_status`: queued (job scheduled) → pending (Razorpay accepted it) → processed,
or failed (Razorpay gave up; a new job is scheduled). `Payment.status` becomes refunded only
when Razorpay reports the refund processed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, PaymentStatus, Role
from models.tables import Booking, MentorSession, Payment, ScheduledJob, User
from web.keys import CLOCK, DB
from web.money import inr
from web.payments.runtime import PAYMENTS
from web.realtime.outbox import unit_of_work
from workers.scheduler import schedule_job

log = logging.getLogger(__name__)

PAYMENT_REFUND = "payment_refund"

QUEUED = "queued"
PENDING = "pending"
PROCESSED = "processed"
FAILED = "failed"

# Razorpay settles most refunds within days and reports it by webhook; these checks cover a lost webhook.
PENDING_CHECK_EVERY = timedelta(hours=6)
PENDING_CHECKS = 40
RETRY_FAILED_AFTER = timedelta(minutes=10)
# A refund job that used up its attempts (Razorpay down or refusing) is surfaced and tried again later.
RETRY_GIVEN_UP_AFTER = timedelta(hours=6)
REFUND_STUCK = "refund_stuck"


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _notes_of(refund: dict[str, Any]) -> dict[str, Any]:
    notes = refund.get("notes")
    return notes if isinstance(notes, dict) else {}


def refund_amount(payment: Payment) -> int:
    """What goes back to the learner: the whole payment unless a smaller share was decided."""
    return payment.refund_amount_paise if payment.refund_amount_paise is not None else payment.amount_paise


def is_partial(payment: Payment) -> bool:
    return refund_amount(payment) < payment.amount_paise


def mark_for_refund(s: AsyncSession, payment: Payment, now: datetime, amount_paise: int | None = None) -> None:
    """Queue a refund of a captured payment (all of it, or `amount_paise`) in the caller's transaction."""
    assert payment.id is not None
    payment.refund_status = QUEUED
    payment.refund_amount_paise = payment.amount_paise if amount_paise is None else amount_paise
    s.add(payment)
    schedule_job(s, kind=PAYMENT_REFUND, args={"payment_id": payment.id}, due_at=now, now=now)


async def schedule_refunds(s: AsyncSession, session: MentorSession, bookings: Sequence[Booking],
                           now: datetime) -> list[Payment]:
    """A mentor cancels `session`: refund every captured payment among `bookings`, in the caller's transaction.

    Each refunded booking becomes `refunded` at once (its refund is on its way; Payment.refund_status
    says how far), so the caller's cancel loop leaves it alone; the caller still releases every seat.
    Returns the payments being refunded. Razorpay is called later by the `payment_refund` job.
    """
    ids = [b.id for b in bookings if b.id is not None]
    if not ids:
        return []
    # A hold still waiting for its payment ends with the session: a payment made afterwards is late,
    # finds no seat and is refunded (web.payments.settlement).
    await s.execute(
        update(Payment)
        .where(col(Payment.booking_id).in_(ids), col(Payment.status) == PaymentStatus.CREATED)
        .values(status=PaymentStatus.FAILED, failure_reason="The session was cancelled before the payment arrived.")
    )
    captured = list((await s.exec(
        select(Payment).where(
            col(Payment.booking_id).in_(ids),
            col(Payment.status) == PaymentStatus.CAPTURED,
            or_(col(Payment.refund_status).is_(None), col(Payment.refund_status) == FAILED),
        )
    )).all())
    for payment in captured:
        mark_for_refund(s, payment, now)
    refunded = {p.booking_id for p in captured}
    for booking in bookings:
        if booking.id in refunded:
            booking.status = BookingStatus.REFUNDED
            booking.cancelled_at = now
            booking.hold_expires_at = None
            s.add(booking)
    await s.flush()
    return captured


async def schedule_booking_refund(s: AsyncSession, booking: Booking, percent: int, now: datetime) -> int:
    """A learner cancels `booking`: give back `percent` of each captured payment, in the caller's transaction.

    An unpaid order is closed (a payment arriving later finds no seat and is refunded in full by the
    settlement). The booking becomes refunded when money goes back, cancelled otherwise (the caller
    releases the seat). Returns the paise being refunded.
    """
    assert booking.id is not None
    await s.execute(
        update(Payment)
        .where(col(Payment.booking_id) == booking.id, col(Payment.status) == PaymentStatus.CREATED)
        .values(status=PaymentStatus.FAILED, failure_reason="The booking was cancelled before the payment arrived.")
    )
    captured = list((await s.exec(
        select(Payment).where(
            col(Payment.booking_id) == booking.id,
            col(Payment.status) == PaymentStatus.CAPTURED,
            or_(col(Payment.refund_status).is_(None), col(Payment.refund_status) == FAILED),
        )
    )).all())
    total = 0
    for payment in captured:
        amount = payment.amount_paise * max(0, min(100, percent)) // 100
        if amount > 0:
            mark_for_refund(s, payment, now, amount)
            total += amount
    booking.status = BookingStatus.REFUNDED if total > 0 else BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.hold_expires_at = None
    s.add(booking)
    await s.flush()
    return total


async def _session_title(s: AsyncSession, booking_id: int) -> tuple[int, str]:
    booking = await s.get(Booking, booking_id)
    assert booking is not None
    session = await s.get(MentorSession, booking.session_id)
    return booking.learner_id, session.title if session else "your session"


async def _record_refund(app: web.Application, payment: Payment, refund: dict[str, Any]) -> None:
    """Store Razorpay's refund on the payment; the learner hears of it the first time only."""
    async with unit_of_work(app) as work:
        s = work.s
        result = await s.execute(
            update(Payment)
            .where(col(Payment.id) == payment.id, col(Payment.status) == PaymentStatus.CAPTURED,
                   or_(col(Payment.refund_id).is_(None), col(Payment.refund_id) != refund["id"]))
            .values(refund_id=refund["id"], refund_status=refund.get("status", PENDING))
        )
        if _rowcount(result) != 1:
            return
        learner_id, title = await _session_title(s, payment.booking_id)
        await work.notify(
            user_id=learner_id, kind="refund_started", title="Refund started",
            body=f"{inr(refund_amount(payment))} for “{title}” is on its way back to you.",
            data={"booking_id": payment.booking_id, "refund_id": refund["id"],
                  "amount_paise": refund_amount(payment)},
        )
        await s.commit()


async def complete_refund(app: web.Application, razorpay_payment_id: str, refund_id: str, *,
                          in_full: bool | None = None) -> bool:
    """Razorpay processed the refund: the payment is refunded, and so is a booking that no longer holds a seat.

    `in_full` False (the webhook's payment shows money still kept) is a partial refund someone made by
    hand: the payment stays captured, so a later cancellation still refunds what is left.
    """
    if in_full is False and not await _planned_partial(app, razorpay_payment_id):
        log.warning("partial refund %s of payment %s processed; the payment stays captured",
                    refund_id, razorpay_payment_id)
        return False
    now = app[CLOCK].now()
    async with unit_of_work(app) as work:
        s = work.s
        result = await s.execute(
            update(Payment)
            .where(col(Payment.razorpay_payment_id) == razorpay_payment_id,
                   col(Payment.status) == PaymentStatus.CAPTURED)
            .values(status=PaymentStatus.REFUNDED, refund_id=refund_id, refund_status=PROCESSED, refunded_at=now)
        )
        if _rowcount(result) != 1:
            return False
        payment = (await s.exec(select(Payment).where(Payment.razorpay_payment_id == razorpay_payment_id))).one()
        # A learner who re-booked and paid through another order keeps that booking.
        await s.execute(
            update(Booking)
            .where(col(Booking.id) == payment.booking_id, col(Booking.status) == BookingStatus.CANCELLED)
            .values(status=BookingStatus.REFUNDED)
        )
        learner_id, title = await _session_title(s, payment.booking_id)
        await work.notify(
            user_id=learner_id, kind="refund_processed", title="Refund processed",
            body=f"{inr(refund_amount(payment))} for “{title}” has been refunded.",
            data={"booking_id": payment.booking_id, "refund_id": refund_id, "amount_paise": refund_amount(payment)},
        )
        await s.commit()
    return True


async def _planned_partial(app: web.Application, razorpay_payment_id: str) -> bool:
    """Whether this payment's queued refund is a learner's late-cancellation share (so "not in full" is the plan)."""
    async with app[DB].session() as s:
        payment = (await s.exec(select(Payment).where(Payment.razorpay_payment_id == razorpay_payment_id))).first()
    return (payment is not None and payment.refund_status in (QUEUED, PENDING) and is_partial(payment))


async def refund_failed(app: web.Application, razorpay_payment_id: str, refund_id: str) -> bool:
    """Razorpay could not refund: the money is back with us, so try again with a new refund."""
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        result = await s.execute(
            update(Payment)
            .where(col(Payment.razorpay_payment_id) == razorpay_payment_id,
                   col(Payment.status) == PaymentStatus.CAPTURED, col(Payment.refund_id) == refund_id)
            .values(refund_status=FAILED)
        )
        if _rowcount(result) != 1:
            return False
        payment = (await s.exec(select(Payment).where(Payment.razorpay_payment_id == razorpay_payment_id))).one()
        schedule_job(s, kind=PAYMENT_REFUND, args={"payment_id": payment.id}, due_at=now + RETRY_FAILED_AFTER,
                     now=now)
        await s.commit()
    return True


async def run_refund(app: web.Application, args: dict[str, Any]) -> None:
    """The `payment_refund` job. Gateway errors propagate, so the dispatcher retries with backoff."""
    payment_id, check = int(args["payment_id"]), int(args.get("check", 0))
    async with app[DB].session() as s:
        payment = await s.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.CAPTURED or payment.razorpay_payment_id is None:
        return
    gateway = app[PAYMENTS].gateway
    razorpay_id = payment.razorpay_payment_id
    refund: dict[str, Any] | None = None
    if payment.refund_id and payment.refund_status in (PENDING, PROCESSED):
        refund = await gateway.fetch_refund(payment.refund_id)
    if refund is None or refund.get("status") == FAILED:
        existing = await gateway.payment_refunds(razorpay_id)
        # Adopt only what an earlier run of this job made (its notes) or a refund of the whole payment,
        # never a partial refund made by hand, which would leave the rest unrefunded.
        refund = next((r for r in existing if r.get("status") in (PENDING, PROCESSED)
                       and (_notes_of(r).get("payment_id") == str(payment.id)
                            or int(r.get("amount") or 0) >= refund_amount(payment))), None)
        if refund is None:
            refund = await gateway.refund(razorpay_id, refund_amount(payment) if is_partial(payment) else None,
                                          notes={"payment_id": str(payment.id),
                                                 "booking_id": str(payment.booking_id)})
        await _record_refund(app, payment, refund)
    if refund.get("status") == PROCESSED:
        await complete_refund(app, razorpay_id, refund["id"])
    elif check < PENDING_CHECKS:
        now = app[CLOCK].now()
        async with app[DB].session() as s:
            # A redelivered job (Celery, or a lease that ran out) must not start a second chain of checks.
            pending = (await s.exec(select(ScheduledJob).where(
                ScheduledJob.kind == PAYMENT_REFUND, col(ScheduledJob.done_at).is_(None)))).all()
            if not any(job.args.get("payment_id") == payment.id and job.args.get("check") == check + 1
                       for job in pending):
                schedule_job(s, kind=PAYMENT_REFUND, args={"payment_id": payment.id, "check": check + 1},
                             due_at=now + PENDING_CHECK_EVERY, now=now)
                await s.commit()
    else:
        log.warning("refund %s of payment %s still pending after %d checks", refund["id"], razorpay_id, check)


async def refund_given_up(app: web.Application, args: dict[str, Any], error: str) -> None:
    """The `payment_refund` job failed for the last time: tell the admins and the learner, and keep trying slowly.

    Without this a refund the learner was promised would stay queued forever with nobody told.
    """
    payment_id, round_ = int(args["payment_id"]), int(args.get("round", 0))
    now = app[CLOCK].now()
    async with unit_of_work(app) as work:
        s = work.s
        payment = await s.get(Payment, payment_id)
        if payment is None or payment.status != PaymentStatus.CAPTURED or payment.refund_status == PROCESSED:
            return
        if round_ == 0:
            learner_id, title = await _session_title(s, payment.booking_id)
            data = {"payment_id": payment.id, "razorpay_payment_id": payment.razorpay_payment_id,
                    "booking_id": payment.booking_id, "amount_paise": refund_amount(payment)}
            admins = (await s.exec(select(User).where(User.role == Role.ADMIN))).all()
            for admin in admins:
                assert admin.id is not None
                await work.notify(
                    user_id=admin.id, kind=REFUND_STUCK, title="Refund needs attention",
                    body=(f"Refunding {inr(refund_amount(payment))} (payment {payment.razorpay_payment_id}) for "
                          f"“{title}” keeps failing: {error[-300:]}"),
                    data=data,
                )
            await work.notify(
                user_id=learner_id, kind="refund_delayed", title="Refund delayed",
                body=f"Your refund of {inr(refund_amount(payment))} for “{title}” is delayed; our team has been told.",
                data=data,
            )
        schedule_job(s, kind=PAYMENT_REFUND, args={"payment_id": payment.id, "round": round_ + 1},
                     due_at=now + RETRY_GIVEN_UP_AFTER, now=now)
        await s.commit()
    log.error("refund of payment %s given up (round %d): %s", payment_id, round_, error)
