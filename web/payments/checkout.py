"""Book ▶ on a paid session: hold a seat, create the Razorpay order, hand the page what Checkout needs.

Three short transactions, none of them open while Razorpay is called:
1. take the seat with a pending_payment booking and schedule the hold's expiry and its order check (commit);
2. create the order through the gateway (no transaction);
3. store Payment(status created) for the order, if the hold still stands (commit).
If the gateway fails, the hold is cancelled and its seat released before answering 502. If the process
dies between 1 and 3 (an orphan: a hold with no order), the learner's next Book ▶ after the order
deadline releases it and books afresh, and the `payment_order_check` job releases it at that deadline
anyway: a crash costs seconds, not the 15-minute hold. No half-made booking survives.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import as_utc, iso_utc
from models.enums import BookingStatus, PaymentStatus
from models.tables import Booking, MentorSession, Payment, User
from web.bookings.schemas import booking_json
from web.bookings.service import claim_seat
from web.errors import ApiError, forbidden
from web.http.identity import Identity
from web.keys import CLOCK, DB
from web.payments.gateway import PaymentGatewayError
from web.payments.holds import (
    PAYMENT_HOLD_EXPIRY,
    PAYMENT_ORDER_CHECK,
    expire_hold,
    has_open_order,
    release_orphan_hold,
)
from web.payments.refunds import schedule_booking_refund, schedule_refunds
from web.payments.runtime import MERCHANT_NAME, PAYMENTS, PaymentsRuntime
from web.payments.settlement import cancel_hold
from web.sessions.queries import load_session_body
from workers.scheduler import schedule_job

log = logging.getLogger(__name__)

ORDER_PENDING = "Your seat is being held while the payment is set up. Try again in a few seconds."
HOLD_LOST = "Setting up the payment took too long, so the seat was released. Please book again."
GATEWAY_DOWN = "Payments are unavailable right now: {reason}. Your seat was not held; please try again shortly."


def gateway_reason(exc: PaymentGatewayError) -> str:
    """What the learner is told; transport details stay in the log."""
    if exc.code in ("TIMEOUT", "NETWORK_ERROR"):
        return "the payment service could not be reached"
    if exc.code == "BAD_REQUEST_ERROR":
        return f"the payment service refused the order ({exc.message})"
    return "the payment service reported an error"


def checkout_json(runtime: PaymentsRuntime, session: MentorSession, learner: User, booking: Booking,
                  payment: Payment) -> dict[str, Any]:
    """Razorpay Checkout's options, minus the callbacks the page adds (web/static/checkout.js)."""
    return {
        "key": runtime.gateway.key_id,
        "order_id": payment.razorpay_order_id,
        "amount": payment.amount_paise,
        "currency": payment.currency,
        "name": MERCHANT_NAME,
        "description": session.title,
        "prefill": {"name": learner.name, "email": learner.email},
        "script_url": runtime.script_url,
        "notes": order_notes(session, learner, booking),
        "hold_expires_at": iso_utc(booking.hold_expires_at) if booking.hold_expires_at else None,
    }


def order_notes(session: MentorSession, learner: User, booking: Booking) -> dict[str, str]:
    return {"session_id": str(session.id), "learner_id": str(learner.id), "booking_id": str(booking.id)}


class PaidBookings:
    """The PaidBookingFlow registered under web.bookings.service.PAID_BOOKINGS."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def start(self, request: web.Request, identity: Identity, session: MentorSession) -> web.Response:
        runtime = self._app[PAYMENTS]
        runtime.learn_address(request)
        async with self._app[DB].session() as s:
            learner = await s.get(User, identity.user_id)
        if learner is None:
            raise forbidden("Your account no longer exists.")
        held = await self.current_hold(session, learner)
        if held is None:
            await self._expire_lapsed_hold(session, learner)
            await self._release_orphan_hold(session, learner)
            held = await self._hold(session, learner)
        booking, payment = held
        assert session.id is not None
        body = {
            "booking": booking_json(booking, learner),
            "session": await load_session_body(request.app, identity, session.id),
            "checkout": checkout_json(runtime, session, learner, booking, payment),
        }
        return web.json_response(body, status=201)

    async def refund_cancelled(self, s: AsyncSession, session: MentorSession, bookings: Sequence[Booking],
                               now: datetime) -> None:
        await schedule_refunds(s, session, bookings, now)

    async def refund_booking(self, s: AsyncSession, booking: Booking, percent: int, now: datetime) -> int:
        return await schedule_booking_refund(s, booking, percent, now)

    async def current_hold(self, session: MentorSession, learner: User) -> tuple[Booking, Payment] | None:
        """The learner's unexpired hold on this session with its open order: Book again resumes it."""
        now = self._app[CLOCK].now()
        async with self._app[DB].session() as s:
            row = (await s.exec(
                select(Booking, Payment)
                .join(Payment, col(Payment.booking_id) == col(Booking.id))
                .where(col(Booking.session_id) == session.id, col(Booking.learner_id) == learner.id,
                       col(Booking.status) == BookingStatus.PENDING_PAYMENT, col(Booking.hold_expires_at) > now,
                       col(Payment.status) == PaymentStatus.CREATED)
                .order_by(col(Payment.id).desc())
            )).first()
        return (row[0], row[1]) if row else None

    async def _expire_lapsed_hold(self, session: MentorSession, learner: User) -> None:
        """A hold past its end whose expiry job has not run yet: run it now rather than refuse a new booking."""
        now = self._app[CLOCK].now()
        async with self._app[DB].session() as s:
            lapsed = (await s.exec(
                select(Booking.id).where(  # type: ignore[call-overload]
                    col(Booking.session_id) == session.id, col(Booking.learner_id) == learner.id,
                    col(Booking.status) == BookingStatus.PENDING_PAYMENT, col(Booking.hold_expires_at) <= now)
            )).first()
        if lapsed is not None:
            await expire_hold(self._app, int(lapsed))

    async def _release_orphan_hold(self, session: MentorSession, learner: User) -> None:
        """A hold of this learner with no order: past the order deadline its order will never come (the
        process that claimed it died), so it is released and this Book ▶ claims afresh; before it, the
        claiming request may still be talking to Razorpay, and the learner is asked to retry shortly."""
        now = self._app[CLOCK].now()
        async with self._app[DB].session() as s:
            pending = (await s.exec(select(Booking).where(
                col(Booking.session_id) == session.id, col(Booking.learner_id) == learner.id,
                col(Booking.status) == BookingStatus.PENDING_PAYMENT))).first()
            if pending is None or pending.id is None or await has_open_order(s, pending.id):
                return
        wait = (as_utc(pending.created_at) + self._app[PAYMENTS].settings.order_deadline - now).total_seconds()
        if wait > 0:
            raise ApiError(409, ORDER_PENDING, retry_after=max(1, math.ceil(wait)))
        await release_orphan_hold(self._app, pending.id, pending.created_at)

    async def claim(self, session: MentorSession, learner: User) -> tuple[Booking, int]:
        """Step 1: the seat, held by a pending booking, with the jobs that end the hold (committed).
        Returns the booking and this attempt's number (receipts are unique per attempt)."""
        assert learner.id is not None and session.id is not None
        now = self._app[CLOCK].now()
        settings = self._app[PAYMENTS].settings
        hold_ends = now + settings.hold
        async with self._app[DB].session() as s:
            booking = await claim_seat(s, session, learner.id, now, status=BookingStatus.PENDING_PAYMENT,
                                       hold_expires_at=hold_ends)
            assert booking.id is not None
            schedule_job(s, kind=PAYMENT_HOLD_EXPIRY, args={"booking_id": booking.id}, due_at=hold_ends, now=now)
            schedule_job(s, kind=PAYMENT_ORDER_CHECK, args={"booking_id": booking.id, "claimed_at": now.isoformat()},
                         due_at=now + settings.order_deadline, now=now)
            # Receipts stay unique per attempt when a learner books the same session again after a lapse.
            attempt = 1 + int((await s.exec(
                select(func.count()).select_from(Payment).where(col(Payment.booking_id) == booking.id)
            )).one())
            await s.commit()
        return booking, attempt

    async def _hold(self, session: MentorSession, learner: User) -> tuple[Booking, Payment]:
        db, clock, runtime = self._app[DB], self._app[CLOCK], self._app[PAYMENTS]
        booking, attempt = await self.claim(session, learner)
        assert booking.id is not None
        try:
            order = await runtime.gateway.create_order(
                session.price_paise, session.currency, f"bk_{booking.id}_{attempt}",
                order_notes(session, learner, booking))
            async with db.session() as s:
                current = await s.get(Booking, booking.id, populate_existing=True)
                if current is None or current.status != BookingStatus.PENDING_PAYMENT \
                        or current.created_at != booking.created_at:
                    # The order came after its deadline and the hold was already released: no payment
                    # may point at a seat this booking no longer holds (the order stays unpaid).
                    raise ApiError(409, HOLD_LOST)
                payment = Payment(booking_id=booking.id, razorpay_order_id=str(order["id"]),
                                  amount_paise=int(order["amount"]), currency=str(order["currency"]),
                                  status=PaymentStatus.CREATED, created_at=clock.now())
                s.add(payment)
                await s.commit()
        except PaymentGatewayError as exc:
            log.warning("order for booking %s not created: %r", booking.id, exc)
            await self._release(booking.id)
            raise ApiError(502, GATEWAY_DOWN.format(reason=gateway_reason(exc))) from exc
        except ApiError:
            raise  # HOLD_LOST: the hold is no longer this request's to release.
        except Exception:
            # (A cancelled request leaves the hold to its order check, which finds no order and releases it.)
            await self._release(booking.id)
            raise
        return booking, payment

    async def _release(self, booking_id: int) -> None:
        async with self._app[DB].session() as s:
            await cancel_hold(s, booking_id, self._app[CLOCK].now())
            await s.commit()
