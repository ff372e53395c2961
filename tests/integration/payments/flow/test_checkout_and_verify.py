"""Book ▶ on a paid session and Checkout's handler: the order, the hold, and verification."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlmodel import col

from models.enums import BookingStatus, PaymentStatus
from models.tables import Booking, Payment, ScheduledJob
from tests.integration.payments.flow.support import KEY_ID, PRICE, Shop
from web.bookings.tasks import SESSION_REMINDER
from web.payments.holds import PAYMENT_HOLD_EXPIRY
from web.payments.refunds import PAYMENT_REFUND
from web.realtime.keys import BUS

NewApi = Callable[[], Any]


async def test_paid_booking_creates_an_order_and_a_hold_that_counts_against_capacity(
        shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)

    body = await shop.book(asha, session_id)

    checkout = body["checkout"]
    order = shop.sandbox.ledger.order(checkout["order_id"])
    booking_id = body["booking"]["id"]
    assert (order.amount, order.currency, order.receipt) == (PRICE, "INR", f"bk_{booking_id}_1")
    assert order.notes == {"session_id": str(session_id), "learner_id": str(asha.id), "booking_id": str(booking_id)}
    assert checkout["key"] == KEY_ID
    assert (checkout["amount"], checkout["currency"], checkout["name"]) == (PRICE, "INR", "MentorLive")
    assert checkout["description"] == "Paid system design"
    assert checkout["prefill"] == {"name": "Learner 1", "email": asha.email}
    assert checkout["script_url"] == f"{shop.runtime.sandbox_server.url}/sandbox/checkout.js"  # type: ignore[union-attr]
    assert checkout["notes"]["booking_id"] == str(booking_id)
    assert checkout["hold_expires_at"] == "2030-01-01T09:15:00Z"
    assert body["booking"]["status"] == BookingStatus.PENDING_PAYMENT
    assert body["session"]["viewer"]["booking_status"] == BookingStatus.PENDING_PAYMENT
    assert body["session"]["seats_left"] == 0

    [payment] = await shop.payments(booking_id)
    assert (payment.status, payment.razorpay_order_id, payment.amount_paise) == (
        PaymentStatus.CREATED, checkout["order_id"], PRICE)
    [expiry] = await shop.jobs(PAYMENT_HOLD_EXPIRY)
    assert expiry.args == {"booking_id": booking_id}
    assert expiry.due_at == shop.clock.now().replace(minute=15)

    # The pending hold holds the only seat.
    refused = await shop.book(ravi, session_id, expect=409)
    assert refused["error"] == "This session is full."


async def test_verify_confirms_the_booking_once_with_the_free_bookings_effects(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=2)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    booking_id = body["booking"]["id"]
    fields = await shop.sandbox.pay_order(body["checkout"]["order_id"])

    verified = await shop.verify(asha, fields)
    again = await shop.verify(asha, fields)

    assert verified["booking"]["status"] == again["booking"]["status"] == BookingStatus.CONFIRMED
    assert verified["session"]["viewer"]["booking_status"] == BookingStatus.CONFIRMED
    assert verified["payment"]["status"] == PaymentStatus.CAPTURED
    assert verified["payment"]["display"] == "₹499.00"
    [payment] = await shop.payments(booking_id)
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.razorpay_payment_id == fields["razorpay_payment_id"]
    assert payment.verified_at == shop.clock.now()
    booking = await shop.booking(booking_id)
    assert (booking.status, booking.hold_expires_at) == (BookingStatus.CONFIRMED, None)
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    assert len(await shop.notifications(shop.mentor_id, "new_booking")) == 1
    reminders = await shop.jobs(SESSION_REMINDER)
    assert [job.args for job in reminders] == [{"session_id": session_id, "learner_id": asha.id}]
    assert (await shop.session_row(session_id)).seats_taken == 1

    # The webhooks that followed the payment change nothing more.
    await shop.deliver()
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    assert len(await shop.jobs(SESSION_REMINDER)) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1


async def test_verify_events_reach_mentor_session_and_learner_channels(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    bus = shop.app[BUS]
    channels = [f"requests:{shop.mentor_id}", f"sessions:{session_id}", f"responses:{asha.id}"]
    before = {c: await bus.position(c) for c in channels}

    await shop.verify(asha, await shop.sandbox.pay_order(body["checkout"]["order_id"]))

    published = {}
    for channel in channels:
        recovery = await bus.recover(channel, before[channel].id, before[channel].epoch)
        published[channel] = recovery.publications
        expected = "booking_confirmed" if channel.startswith("responses") else "new_booking"
        assert [e.event for e in recovery.publications] == [expected]
    new_booking = published[f"requests:{shop.mentor_id}"][0].data
    assert new_booking == {"session_id": session_id, "booked_count": 1, "seats_left": 0,
                           "learner": {"id": asha.id, "name": "Learner 1"}}


async def test_tampered_signature_foreign_order_and_other_learner_change_nothing(
        shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=3)
    other_session = await shop.paid_session(capacity=3, title="Another paid session")
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)
    mine = await shop.book(asha, session_id)
    my_other = await shop.book(asha, other_session)
    ravis = await shop.book(ravi, session_id)
    fields = await shop.sandbox.pay_order(mine["checkout"]["order_id"])

    tampered = dict(fields, razorpay_signature=fields["razorpay_signature"][:-1] + "0")
    if tampered == fields:
        tampered["razorpay_signature"] = fields["razorpay_signature"][:-1] + "1"
    refused = await shop.verify(asha, tampered, expect=400)
    assert refused["field"] == "razorpay_signature"
    # Genuine fields of one order presented for another of my orders: signed over the stored order, so refused.
    swapped = await shop.verify(asha, dict(fields, razorpay_order_id=my_other["checkout"]["order_id"]), expect=400)
    assert swapped["field"] == "razorpay_signature"
    # Ravi presenting Asha's genuine fields, or Asha presenting them against Ravi's order.
    await shop.verify(ravi, fields, expect=404)
    await shop.verify(asha, dict(fields, razorpay_order_id=ravis["checkout"]["order_id"]), expect=404)
    missing = await shop.verify(asha, {"razorpay_order_id": fields["razorpay_order_id"]}, expect=400)
    assert missing["field"] == "razorpay_payment_id"

    for body in (mine, my_other, ravis):
        booking = await shop.booking(body["booking"]["id"])
        assert booking.status == BookingStatus.PENDING_PAYMENT
        [payment] = await shop.payments(booking.id or 0)
        assert (payment.status, payment.razorpay_payment_id, payment.verified_at) == (PaymentStatus.CREATED, None, None)
    assert await shop.notifications(asha.id, "booking_confirmed") == []

    # The genuine fields still work afterwards.
    ok = await shop.verify(asha, fields)
    assert ok["booking"]["status"] == BookingStatus.CONFIRMED


async def test_twenty_concurrent_verifies_confirm_one_booking_once(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    fields = await shop.sandbox.pay_order(body["checkout"]["order_id"])

    results = await asyncio.gather(*(shop.verify(asha, fields) for _ in range(20)))

    assert {r["booking"]["status"] for r in results} == {BookingStatus.CONFIRMED}
    assert await shop.count(Booking, col(Booking.session_id) == session_id) == 1
    assert await shop.count(Payment, col(Payment.status) == PaymentStatus.CAPTURED) == 1
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    assert len(await shop.notifications(shop.mentor_id, "new_booking")) == 1
    assert await shop.count(ScheduledJob, col(ScheduledJob.kind) == SESSION_REMINDER) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1
    # No verify mistook itself for a second, duplicate payment.
    assert {r.get("notice") for r in results} == {None}
    assert await shop.count(ScheduledJob, col(ScheduledJob.kind) == PAYMENT_REFUND) == 0
    assert [p.refund_status for p in await shop.payments(body["booking"]["id"])] == [None]


async def test_book_again_with_an_open_hold_returns_the_same_order(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=2)
    asha = await shop.learner(new_api)
    first = await shop.book(asha, session_id)

    resumed = await asha.api.json("POST", "/api/payments/checkout", 200, json={"session_id": session_id})
    again = await asha.api.request("POST", f"/api/sessions/{session_id}/bookings", json={})

    assert resumed["checkout"]["order_id"] == first["checkout"]["order_id"]
    assert resumed["booking"]["id"] == first["booking"]["id"]
    if again.status == 201:  # once the bookings API hands pending holds to the payments flow
        assert (await again.json())["checkout"]["order_id"] == first["checkout"]["order_id"]
    else:
        assert again.status == 409
    assert len(shop.sandbox.ledger.orders) == 1
    assert await shop.count(Booking) == 1
    assert (await shop.session_row(session_id)).seats_taken == 1
