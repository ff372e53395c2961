"""A learner cancels a paid booking: the refund the policy promises, through the durable refund path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from models.enums import BookingStatus, PaymentStatus
from tests.integration.payments.flow.support import PRICE, Shop, paid_and_confirmed
from web.keys import CONFIG
from web.payments.refunds import PAYMENT_REFUND, PROCESSED, QUEUED

NewApi = Callable[[], Any]


async def test_cancelling_early_refunds_in_full_through_the_sandbox(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()  # starts in two days
    asha = await shop.learner(new_api)
    body = await paid_and_confirmed(shop, asha, session_id)
    booking_id = body["booking"]["id"]
    viewer = (await asha.api.json("GET", f"/api/sessions/{session_id}", 200))["session"]["viewer"]
    assert viewer["can_change_booking"] is True
    assert viewer["refund_policy"]["late_refund_percent"] == 0
    assert viewer["refund_policy"]["full_refund_until"] == (
        (shop.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))

    cancelled = await asha.api.json("POST", f"/api/bookings/{booking_id}/cancel", 200)

    assert cancelled["refund"] == {"amount_paise": PRICE, "percent": 100}
    assert cancelled["booking"]["status"] == BookingStatus.REFUNDED
    assert (await shop.session_row(session_id)).seats_taken == 0
    [payment] = await shop.payments(booking_id)
    assert (payment.status, payment.refund_status, payment.refund_amount_paise) == (
        PaymentStatus.CAPTURED, QUEUED, PRICE)
    assert shop.sandbox.ledger.refunds == {}  # Razorpay is called by the job, after the commit
    [note] = await shop.notifications(asha.id, "booking_cancelled")
    assert "₹499.00 is being refunded" in note.body
    assert len(await shop.notifications(shop.mentor_id, "booking_cancelled")) == 1

    await shop.run_jobs()
    [refund] = shop.sandbox.ledger.refunds.values()
    assert (refund.payment_id, refund.amount) == (payment.razorpay_payment_id, PRICE)
    await shop.sandbox.process_refund(refund.id)
    await shop.deliver()
    [payment] = await shop.payments(booking_id)
    assert (payment.status, payment.refund_status) == (PaymentStatus.REFUNDED, PROCESSED)
    assert (await shop.booking(booking_id)).status == BookingStatus.REFUNDED
    earnings = await shop.mentor.json("GET", "/api/payments/earnings", 200)
    assert (earnings["totals"]["gross_paise"], earnings["totals"]["net_paise"]) == (PRICE, 0)


async def test_cancelling_late_keeps_the_money_by_the_default_policy(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    booking_id = (await paid_and_confirmed(shop, asha, session_id))["booking"]["id"]
    shop.clock.advance(timedelta(days=1, seconds=1))  # 23 h 59 min 59 s before the start

    cancelled = await asha.api.json("POST", f"/api/bookings/{booking_id}/cancel", 200)

    assert cancelled["refund"] == {"amount_paise": 0, "percent": 0}
    assert cancelled["booking"]["status"] == BookingStatus.CANCELLED
    assert (await shop.session_row(session_id)).seats_taken == 0
    [payment] = await shop.payments(booking_id)
    assert (payment.status, payment.refund_status) == (PaymentStatus.CAPTURED, None)
    assert await shop.jobs(PAYMENT_REFUND) == []
    [note] = await shop.notifications(asha.id, "booking_cancelled")
    assert "No refund is due" in note.body


async def test_cancelling_late_refunds_the_configured_share(
    shop: Shop, new_api: NewApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(shop.app[CONFIG].sections["payments"], "late_refund_percent", 50)
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    booking_id = (await paid_and_confirmed(shop, asha, session_id))["booking"]["id"]
    shop.clock.advance(timedelta(days=1, hours=12))

    cancelled = await asha.api.json("POST", f"/api/bookings/{booking_id}/cancel", 200)

    half = PRICE // 2
    assert cancelled["refund"] == {"amount_paise": half, "percent": 50}
    await shop.run_jobs()
    [refund] = shop.sandbox.ledger.refunds.values()
    assert refund.amount == half
    await shop.run_jobs()  # a redelivered job adopts the partial refund it made, never a second one
    assert len(shop.sandbox.ledger.refunds) == 1
    await shop.sandbox.process_refund(refund.id)
    await shop.deliver()
    [payment] = await shop.payments(booking_id)
    assert (payment.status, payment.refund_status, payment.refund_amount_paise) == (
        PaymentStatus.REFUNDED, PROCESSED, half)
    [processed] = await shop.notifications(asha.id, "refund_processed")
    assert processed.data["amount_paise"] == half
    earnings = await shop.mentor.json("GET", "/api/payments/earnings", 200)
    assert (earnings["totals"]["gross_paise"], earnings["totals"]["refunded_paise"]) == (PRICE, half)


async def test_cancelling_an_unpaid_hold_closes_its_order(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    booking_id = (await shop.book(asha, session_id))["booking"]["id"]

    cancelled = await asha.api.json("POST", f"/api/bookings/{booking_id}/cancel", 200)

    assert cancelled["booking"]["status"] == BookingStatus.CANCELLED
    [payment] = await shop.payments(booking_id)
    assert payment.status == PaymentStatus.FAILED
    assert (await shop.session_row(session_id)).seats_taken == 0


async def test_moving_a_paid_booking_keeps_its_payment(shop: Shop, new_api: NewApi) -> None:
    first = await shop.paid_session()
    second = await shop.paid_session(title="Paid system design, again")
    asha = await shop.learner(new_api)
    booking_id = (await paid_and_confirmed(shop, asha, first))["booking"]["id"]
    orders = len(shop.sandbox.ledger.orders)

    moved = await asha.api.json("POST", f"/api/bookings/{booking_id}/move", 200, json={"session_id": second})

    assert moved["session"]["viewer"]["booking_status"] == BookingStatus.CONFIRMED
    assert len(shop.sandbox.ledger.orders) == orders  # no new payment
    [payment] = await shop.payments(booking_id)
    assert payment.status == PaymentStatus.CAPTURED
    assert (await shop.session_row(first)).seats_taken == 0
    assert (await shop.session_row(second)).seats_taken == 1
    # A cancel later refunds the payment made for the first session.
    cancelled = await asha.api.json("POST", f"/api/bookings/{booking_id}/cancel", 200)
    assert cancelled["refund"]["amount_paise"] == PRICE
