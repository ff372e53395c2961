"""The mentor changes the price (or free ⇄ paid) while a learner's Book ▶ is in flight, or after a hold ran out.

A booking request reads the session, decides free or paid and the amount, then takes a seat. The mentor's
edit is allowed while no seat is taken, so it can land between the two: the seat must then be refused
(the learner reloads), never sold on the stale price. A payment that turns up after its hold ended at a
price the session no longer has is refunded instead of confirming the booking at the old price.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from models.enums import BookingStatus, PaymentStatus
from models.tables import MentorSession, User
from tests.integration.payments.flow.support import PRICE, Shop
from tests.integration.payments.races.invariants import assert_books_balance
from web.bookings.service import book_free
from web.errors import ApiError
from web.keys import DB
from web.payments.checkout import PaidBookings
from web.payments.refunds import QUEUED

NewApi = Callable[[], Any]
HOLD = timedelta(minutes=15)


async def _rows(shop: Shop, session_id: int, learner_id: int) -> tuple[MentorSession, User]:
    async with shop.app[DB].session() as s:
        row, learner = await s.get(MentorSession, session_id), await s.get(User, learner_id)
    assert row is not None and learner is not None
    return row, learner


async def test_free_booking_racing_a_switch_to_paid_is_refused(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(price=0)
    asha = await shop.learner(new_api)
    # What the Book ▶ handler read before the mentor's edit committed.
    stale, learner = await _rows(shop, session_id, asha.id)
    await shop.mentor.json("PATCH", f"/api/sessions/{session_id}", 200, json={"price_paise": PRICE})

    with pytest.raises(ApiError) as refused:
        await book_free(shop.app, stale, learner)
    assert refused.value.status == 409
    assert await shop.count(MentorSession, MentorSession.seats_taken > 0) == 0
    # Reloaded, the learner is sent through checkout at the new price.
    body = await shop.book(asha, session_id)
    assert body["checkout"]["amount"] == PRICE
    await assert_books_balance(shop.app)


async def test_paid_hold_racing_a_price_change_is_refused(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(price=PRICE)
    asha = await shop.learner(new_api)
    stale, learner = await _rows(shop, session_id, asha.id)
    await shop.mentor.json("PATCH", f"/api/sessions/{session_id}", 200, json={"price_paise": 2 * PRICE})

    with pytest.raises(ApiError) as refused:
        await PaidBookings(shop.app)._hold(stale, learner)
    assert refused.value.status == 409
    assert shop.sandbox.ledger.orders == {}
    body = await shop.book(asha, session_id)
    assert body["checkout"]["amount"] == 2 * PRICE
    await assert_books_balance(shop.app)


async def test_paid_hold_racing_a_switch_to_free_is_refused(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(price=PRICE)
    asha = await shop.learner(new_api)
    stale, learner = await _rows(shop, session_id, asha.id)
    await shop.mentor.json("PATCH", f"/api/sessions/{session_id}", 200, json={"price_paise": 0})

    with pytest.raises(ApiError):
        await PaidBookings(shop.app)._hold(stale, learner)
    assert shop.sandbox.ledger.orders == {}
    body = await shop.book(asha, session_id)
    assert body["booking"]["status"] == BookingStatus.CONFIRMED and "checkout" not in body
    await assert_books_balance(shop.app)


@pytest.mark.parametrize("new_price", [0, 2 * PRICE])
async def test_late_payment_at_an_old_price_is_refunded_not_confirmed(shop: Shop, new_api: NewApi,
                                                                      new_price: int) -> None:
    session_id = await shop.paid_session(price=PRICE)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    order_id = body["checkout"]["order_id"]
    shop.clock.advance(HOLD)
    await shop.run_jobs()
    # The hold ran out and the seat is free again, so the mentor may change the price ...
    await shop.mentor.json("PATCH", f"/api/sessions/{session_id}", 200, json={"price_paise": new_price})
    # ... while Checkout is still open on the old order.
    fields = await shop.sandbox.pay_order(order_id)
    refused = await shop.verify(asha, fields, expect=409)

    assert refused["refund"] is True
    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CANCELLED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.refund_status) == (PaymentStatus.CAPTURED, QUEUED)
    assert (await shop.session_row(session_id)).seats_taken == 0
    await assert_books_balance(shop.app)
