"""Razorpay's webhooks: signed, deduplicated, recorded then processed, and never moving a state backwards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from sqlmodel import col

from models.enums import BookingStatus, PaymentStatus
from models.tables import ScheduledJob, WebhookEvent
from tests.integration.payments.flow.support import WEBHOOK_SECRET, Shop
from web.payments.signatures import webhook_signature
from web.payments.webhook import PAYMENT_WEBHOOK

NewApi = Callable[[], Any]
DECLINED = "Your payment could not be completed as this transaction was declined by the bank."


async def test_webhook_before_the_browser_confirms_and_verify_then_agrees(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    fields = await shop.sandbox.pay_order(body["checkout"]["order_id"])

    await shop.deliver()

    assert {d.state for d in shop.sandbox.outbox} == {"delivered"}
    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CONFIRMED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.razorpay_payment_id) == (PaymentStatus.CAPTURED, fields["razorpay_payment_id"])

    verified = await shop.verify(asha, fields)
    assert verified["booking"]["status"] == BookingStatus.CONFIRMED
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    assert len(await shop.notifications(shop.mentor_id, "new_booking")) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1


async def test_browser_and_webhook_racing_confirm_once(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    fields = await shop.sandbox.pay_order(body["checkout"]["order_id"])

    verified, _ = await asyncio.gather(shop.verify(asha, fields), shop.deliver())

    assert verified["booking"]["status"] == BookingStatus.CONFIRMED
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    assert len(await shop.notifications(shop.mentor_id, "new_booking")) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1
    assert [p.refund_status for p in await shop.payments(body["booking"]["id"])] == [None]


async def test_replayed_webhook_is_handled_once(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    await shop.sandbox.pay_order(body["checkout"]["order_id"])
    [captured] = shop.held("payment.captured")
    await shop.deliver(captured)

    for _ in range(3):
        await shop.sandbox.webhooks.replay(captured)
    await shop.run_jobs()

    assert [a.status for a in shop.sandbox.webhooks.get(captured).attempts] == [200, 200, 200, 200]
    assert await shop.count(WebhookEvent, col(WebhookEvent.event_id) == captured) == 1
    assert await shop.count(ScheduledJob, col(ScheduledJob.kind) == PAYMENT_WEBHOOK) == 1
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.CONFIRMED


async def test_failed_after_captured_does_not_unconfirm(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    order_id = body["checkout"]["order_id"]
    await shop.sandbox.fail_order(order_id)  # a first attempt the bank declined
    fields = await shop.sandbox.pay_order(order_id)  # the retry that went through
    [failed] = shop.held("payment.failed")

    await shop.deliver(*shop.held("payment.captured"), *shop.held("order.paid"))
    await shop.deliver(failed)

    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CONFIRMED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.razorpay_payment_id) == (PaymentStatus.CAPTURED, fields["razorpay_payment_id"])
    assert payment.failure_reason is None
    assert (await shop.session_row(session_id)).seats_taken == 1


async def test_payment_failed_releases_the_seat_and_a_later_capture_takes_it_back(
        shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    order_id = body["checkout"]["order_id"]
    await shop.sandbox.fail_order(order_id)

    await shop.deliver()

    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CANCELLED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.FAILED, DECLINED)
    assert (await shop.session_row(session_id)).seats_taken == 0

    # The learner retried in a Checkout still open: the payment is late but the seat is still free.
    await shop.sandbox.pay_order(order_id)
    await shop.deliver()

    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CONFIRMED
    assert (await shop.payments(booking.id or 0))[0].status == PaymentStatus.CAPTURED
    assert (await shop.session_row(session_id)).seats_taken == 1
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1


async def test_bad_signature_is_refused_and_recorded_nowhere(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    await shop.sandbox.pay_order(body["checkout"]["order_id"])
    delivery = shop.sandbox.webhooks.get(shop.held("payment.captured")[0])
    url = shop.runtime.webhook_url
    assert url is not None

    async with aiohttp.ClientSession() as http:
        forged = delivery.body.replace(b'"captured"', b'"captured" ', 1)
        for payload, signature in ((forged, delivery.signature), (delivery.body, "0" * 64), (delivery.body, "")):
            headers = dict(delivery.headers(), **{"X-Razorpay-Signature": signature})
            async with http.post(url, data=payload, headers=headers) as reply:
                assert reply.status == 400
        # Re-serialised JSON is a different body: its signature must be over these exact bytes.
        async with http.post(url, json=delivery.payload, headers={
                "X-Razorpay-Signature": delivery.signature, "X-Razorpay-Event-Id": delivery.event_id}) as reply:
            assert reply.status == 400
        # A genuine signature without an event id cannot be deduplicated.
        async with http.post(url, data=delivery.body, headers={
                "Content-Type": "application/json",
                "X-Razorpay-Signature": webhook_signature(delivery.body, WEBHOOK_SECRET)}) as reply:
            assert reply.status == 400

    await shop.run_jobs()
    assert await shop.webhook_events() == 0
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.PENDING_PAYMENT


async def test_page_reports_failure_and_dismissal(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    error = await shop.sandbox.fail_order(body["checkout"]["order_id"])

    # Another learner cannot release Asha's hold.
    await ravi.api.json("POST", "/api/payments/failed", 404, json={"razorpay_order_id": body["checkout"]["order_id"]})
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.PENDING_PAYMENT

    released = await asha.api.json("POST", "/api/payments/failed", 200,
                                   json={"razorpay_order_id": body["checkout"]["order_id"], "error": error})
    assert released["released"] is True
    assert released["booking"]["status"] == BookingStatus.CANCELLED
    assert released["payment"]["failure_reason"] == DECLINED
    assert released["session"]["seats_left"] == 1

    # The seat is Ravi's to take now; his Checkout is closed unpaid.
    ravis = await shop.book(ravi, session_id)
    dismissed = await ravi.api.json("POST", "/api/payments/failed", 200,
                                    json={"razorpay_order_id": ravis["checkout"]["order_id"], "reason": "dismissed"})
    assert dismissed["payment"]["failure_reason"] == "Checkout was closed before paying."
    assert (await shop.session_row(session_id)).seats_taken == 0

    # The webhook for Asha's failure arrives later and changes nothing.
    await shop.deliver()
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.CANCELLED
    assert (await shop.session_row(session_id)).seats_taken == 0
