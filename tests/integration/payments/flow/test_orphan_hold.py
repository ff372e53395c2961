"""A crash between claiming a seat and creating its Razorpay order: the hold has no order, and costs the
learner (and the others waiting for the seat) seconds, not the 15-minute hold.

The fault is the state a dead process leaves: step 1 of the paid flow (`PaidBookings.claim`, the seat and
its jobs, committed) ran, and nothing after it did.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import BookingStatus
from models.tables import MentorSession, User
from tests.integration.payments.flow.support import Learner, Shop
from web.bookings.service import PAID_BOOKINGS
from web.keys import DB
from web.payments.checkout import ORDER_PENDING, PaidBookings
from web.payments.holds import PAYMENT_ORDER_CHECK

NewApi = Callable[[], Any]


async def crash_after_claim(shop: Shop, learner: Learner, session_id: int) -> int:
    async with shop.app[DB].session() as s:
        session, user = await s.get(MentorSession, session_id), await s.get(User, learner.id)
    assert session is not None and user is not None
    flow = shop.app[PAID_BOOKINGS]
    assert isinstance(flow, PaidBookings)
    booking, _ = await flow.claim(session, user)
    assert booking.id is not None
    return booking.id


async def test_the_learners_retry_after_a_crash_books_afresh_within_seconds(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    orphan = await crash_after_claim(shop, asha, session_id)
    assert (await shop.session_row(session_id)).seats_taken == 1

    # Right away the claiming request might still be talking to Razorpay: asked to retry in seconds.
    soon = await shop.book(asha, session_id, expect=409)
    assert soon["error"] == ORDER_PENDING and 0 < soon["retry_after"] <= 15

    shop.clock.advance(timedelta(seconds=soon["retry_after"]))
    body = await shop.book(asha, session_id)
    assert body["booking"]["id"] == orphan and body["booking"]["status"] == BookingStatus.PENDING_PAYMENT
    assert body["checkout"]["order_id"]
    assert (await shop.session_row(session_id)).seats_taken == 1
    # Paying that order confirms the booking as usual.
    fields = await shop.sandbox.pay_order(body["checkout"]["order_id"])
    await shop.verify(asha, fields)
    assert (await shop.booking(orphan)).status == BookingStatus.CONFIRMED
    # The orphan's own order check finds the booking confirmed and leaves it alone.
    await shop.run_jobs()
    assert (await shop.booking(orphan)).status == BookingStatus.CONFIRMED
    assert (await shop.session_row(session_id)).seats_taken == 1


async def test_the_order_check_job_frees_the_seat_for_others_at_the_deadline(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)
    orphan = await crash_after_claim(shop, asha, session_id)
    await shop.book(ravi, session_id, expect=409)  # full

    [check] = await shop.jobs(PAYMENT_ORDER_CHECK)
    shop.clock.advance(check.due_at - shop.clock.now())
    await shop.run_jobs()

    booking = await shop.booking(orphan)
    assert booking.status == BookingStatus.CANCELLED
    assert (await shop.session_row(session_id)).seats_taken == 0
    assert (await shop.book(ravi, session_id))["booking"]["status"] == BookingStatus.PENDING_PAYMENT


async def test_the_order_check_leaves_a_hold_with_its_order_alone(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    [check] = await shop.jobs(PAYMENT_ORDER_CHECK)
    shop.clock.advance(check.due_at - shop.clock.now())
    await shop.run_jobs()
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.PENDING_PAYMENT
    assert (await shop.session_row(session_id)).seats_taken == 1
