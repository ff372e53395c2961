"""A mentor's cancellation refunds every captured payment through durable, idempotent refund jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import BookingStatus, PaymentStatus
from tests.integration.payments.flow.support import (
    KEY_ID,
    KEY_SECRET,
    PRICE,
    WEBHOOK_SECRET,
    Shop,
    cancel_with_refunds,
    dead_address,
    paid_and_confirmed,
)
from web.payments.gateway import PaymentGateway
from web.payments.refunds import PAYMENT_REFUND, PROCESSED, QUEUED, run_refund

NewApi = Callable[[], Any]


async def test_cancel_refunds_every_captured_payment_through_jobs(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=3)
    learners = [await shop.learner(new_api) for _ in range(3)]
    asha, ravi, meera = learners
    paid = [await paid_and_confirmed(shop, who, session_id) for who in (asha, ravi)]
    pending = await shop.book(meera, session_id)

    await cancel_with_refunds(shop, session_id)

    for body in paid:
        booking = await shop.booking(body["booking"]["id"])
        assert booking.status == BookingStatus.REFUNDED
        [payment] = await shop.payments(booking.id or 0)
        assert (payment.status, payment.refund_status, payment.refund_id) == (PaymentStatus.CAPTURED, QUEUED, None)
    [unpaid] = await shop.payments(pending["booking"]["id"])
    assert unpaid.status == PaymentStatus.FAILED
    assert (await shop.booking(pending["booking"]["id"])).status == BookingStatus.CANCELLED
    assert (await shop.session_row(session_id)).seats_taken == 0
    assert len(await shop.jobs(PAYMENT_REFUND)) == 2
    assert shop.sandbox.ledger.refunds == {}  # nothing called Razorpay inside the transaction

    await shop.run_jobs()
    captured = [(await shop.payments(b["booking"]["id"]))[0] for b in paid]
    for payment in captured:  # Celery may deliver a job twice: the second run creates nothing
        await run_refund(shop.app, {"payment_id": payment.id})

    refunds = list(shop.sandbox.ledger.refunds.values())
    assert sorted(r.payment_id for r in refunds) == sorted(str(p.razorpay_payment_id) for p in captured)
    assert {(r.amount, r.status) for r in refunds} == {(PRICE, "pending")}
    for who in (asha, ravi):
        assert len(await shop.notifications(who.id, "refund_started")) == 1

    for refund in refunds:
        await shop.sandbox.process_refund(refund.id)
    await shop.deliver()

    for body in paid:
        [payment] = await shop.payments(body["booking"]["id"])
        assert (payment.status, payment.refund_status) == (PaymentStatus.REFUNDED, PROCESSED)
        assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.REFUNDED
    for who in (asha, ravi):
        assert len(await shop.notifications(who.id, "refund_processed")) == 1
    assert await shop.notifications(meera.id, "refund_started") == []

    # The unpaid learner pays after all: no seat on a cancelled session, so the money goes back.
    fields = await shop.sandbox.pay_order(pending["checkout"]["order_id"])
    refused = await shop.verify(meera, fields, expect=409)
    assert refused["refund"] is True
    await shop.run_jobs()
    assert len(shop.sandbox.ledger.refunds) == 3


async def test_refund_job_adopts_a_refund_razorpay_already_has(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await paid_and_confirmed(shop, asha, session_id)
    await cancel_with_refunds(shop, session_id)
    [payment] = await shop.payments(body["booking"]["id"])
    assert payment.razorpay_payment_id is not None
    # A previous run created the refund and died before storing it.
    existing = await shop.runtime.gateway.refund(payment.razorpay_payment_id)

    await shop.run_jobs()

    assert len(shop.sandbox.ledger.refunds) == 1
    [payment] = await shop.payments(body["booking"]["id"])
    assert (payment.refund_id, payment.refund_status) == (existing["id"], "pending")


async def test_refund_job_retries_while_razorpay_is_unreachable(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await paid_and_confirmed(shop, asha, session_id)
    await cancel_with_refunds(shop, session_id)
    runtime = shop.runtime
    reachable, server = runtime.gateway, runtime.sandbox_server
    assert server is not None
    # Razorpay unreachable: the same SDK aimed at a loopback port nobody listens on.
    runtime.bind(PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                base_url=dead_address(), timeout=2), server.checkout_js_url, server)

    await shop.run_jobs()

    [job] = await shop.jobs(PAYMENT_REFUND)
    assert job.done_at is None and job.attempts == 1
    assert job.last_error is not None and "could not be reached" in job.last_error
    assert shop.sandbox.ledger.refunds == {}

    # Razorpay is back; the retry (backoff 10 s after one failure) goes through.
    runtime.bind(reachable, server.checkout_js_url, server)
    shop.clock.advance(timedelta(seconds=10))
    await shop.run_jobs()
    assert len(shop.sandbox.ledger.refunds) == 1
    [payment] = await shop.payments(body["booking"]["id"])
    assert payment.refund_status == "pending"
