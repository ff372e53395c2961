"""Holds that run out: released for others, or confirmed/refunded when the payment turns up late."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import BookingStatus, PaymentStatus
from tests.integration.payments.flow.support import PRICE, Shop
from web.payments.holds import EXPIRED
from web.payments.refunds import PROCESSED

NewApi = Callable[[], Any]
HOLD = timedelta(minutes=15)


async def test_hold_expiry_releases_the_seat_for_another_learner(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)
    body = await shop.book(asha, session_id)

    shop.clock.advance(HOLD - timedelta(seconds=1))
    await shop.run_jobs()
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.PENDING_PAYMENT
    await shop.book(ravi, session_id, expect=409)

    shop.clock.advance(timedelta(seconds=1))
    await shop.run_jobs()

    booking = await shop.booking(body["booking"]["id"])
    assert (booking.status, booking.cancelled_at) == (BookingStatus.CANCELLED, shop.clock.now())
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.FAILED, EXPIRED)
    assert len(await shop.notifications(asha.id, "hold_expired")) == 1
    assert (await shop.session_row(session_id)).seats_taken == 0
    ravis = await shop.book(ravi, session_id)
    assert ravis["booking"]["status"] == BookingStatus.PENDING_PAYMENT

    # The expired learner may book again: a new order with its own receipt on the same booking row.
    shop.clock.advance(HOLD)
    await shop.run_jobs()
    again = await shop.book(asha, session_id)
    assert again["booking"]["id"] == body["booking"]["id"]
    assert again["checkout"]["order_id"] != body["checkout"]["order_id"]
    assert shop.sandbox.ledger.order(again["checkout"]["order_id"]).receipt == f"bk_{booking.id}_2"


async def test_expiry_finds_a_captured_payment_and_confirms_instead(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    # Paid, but the browser never came back and the webhooks are still on their way.
    fields = await shop.sandbox.pay_order(body["checkout"]["order_id"])

    shop.clock.advance(HOLD)
    await shop.run_jobs()

    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CONFIRMED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.razorpay_payment_id) == (PaymentStatus.CAPTURED, fields["razorpay_payment_id"])
    assert await shop.notifications(asha.id, "hold_expired") == []
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1

    await shop.deliver()
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1


async def test_late_payment_with_the_seat_still_free_is_confirmed(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    shop.clock.advance(HOLD)
    await shop.run_jobs()
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.CANCELLED

    fields = await shop.sandbox.pay_order(body["checkout"]["order_id"])
    verified = await shop.verify(asha, fields)

    assert verified["booking"]["status"] == BookingStatus.CONFIRMED
    assert (await shop.session_row(session_id)).seats_taken == 1


async def test_late_payment_for_a_seat_resold_is_refunded_automatically(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)
    late = await shop.book(asha, session_id)
    shop.clock.advance(HOLD)
    await shop.run_jobs()
    ravis = await shop.book(ravi, session_id)
    await shop.verify(ravi, await shop.sandbox.pay_order(ravis["checkout"]["order_id"]))

    fields = await shop.sandbox.pay_order(late["checkout"]["order_id"])
    refused = await shop.verify(asha, fields, expect=409)

    assert refused["refund"] is True
    assert "refunded" in refused["error"]
    booking = await shop.booking(late["booking"]["id"])
    assert booking.status == BookingStatus.CANCELLED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.refund_status) == (PaymentStatus.CAPTURED, "queued")
    assert len(await shop.notifications(asha.id, "payment_refunding")) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1
    assert (await shop.booking(ravis["booking"]["id"])).status == BookingStatus.CONFIRMED

    await shop.deliver()  # the late capture's own webhooks: nothing more happens
    await shop.run_jobs()  # the refund job

    [refund] = shop.sandbox.ledger.refunds.values()
    assert (refund.payment_id, refund.amount, refund.status) == (fields["razorpay_payment_id"], PRICE, "pending")
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.refund_id, payment.refund_status) == (refund.id, "pending")
    assert len(await shop.notifications(asha.id, "refund_started")) == 1

    await shop.sandbox.process_refund(refund.id)
    await shop.deliver()

    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.refund_status, payment.refunded_at) == (
        PaymentStatus.REFUNDED, PROCESSED, shop.clock.now())
    assert (await shop.booking(booking.id or 0)).status == BookingStatus.REFUNDED
    assert len(await shop.notifications(asha.id, "refund_processed")) == 1
    assert len(shop.sandbox.ledger.refunds) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1
