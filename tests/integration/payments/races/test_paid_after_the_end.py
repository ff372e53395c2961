"""A payment that completes after the session is over buys nothing: it is refunded, not confirmed.

Booking is allowed until the end (ARCHITECTURE §4), so a hold taken in a session's last minutes can be
paid after it ended (the mentor never went live, so the status still reads scheduled).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import BookingStatus, PaymentStatus
from tests.integration.payments.flow.support import Shop
from tests.integration.payments.races.invariants import assert_books_balance

NewApi = Callable[[], Any]


async def test_payment_after_the_end_is_refunded(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=2)
    asha = await shop.learner(new_api)
    row = await shop.session_row(session_id)
    end = row.start_at + timedelta(minutes=row.duration_minutes)
    shop.clock.set(end - timedelta(minutes=5))
    body = await shop.book(asha, session_id)
    shop.clock.set(end + timedelta(minutes=2))

    refused = await shop.verify(asha, await shop.sandbox.pay_order(body["checkout"]["order_id"]), expect=409)

    assert refused["refund"] is True
    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CANCELLED
    [payment] = await shop.payments(booking.id or 0)
    assert payment.status == PaymentStatus.CAPTURED and payment.refund_status is not None
    assert (await shop.session_row(session_id)).seats_taken == 0
    await assert_books_balance(shop.app)


async def test_late_webhook_after_the_end_is_refunded(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=2)
    asha = await shop.learner(new_api)
    row = await shop.session_row(session_id)
    end = row.start_at + timedelta(minutes=row.duration_minutes)
    shop.clock.set(end - timedelta(minutes=20))
    body = await shop.book(asha, session_id)
    shop.clock.set(end - timedelta(minutes=4))
    await shop.run_jobs()  # the hold ran out unpaid
    await shop.sandbox.pay_order(body["checkout"]["order_id"])  # Checkout was still open
    shop.clock.set(end + timedelta(hours=1))

    await shop.deliver()  # Razorpay's retried webhook, an hour after the end

    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CANCELLED
    [payment] = await shop.payments(booking.id or 0)
    assert payment.refund_status is not None
    await assert_books_balance(shop.app)
