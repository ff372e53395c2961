"""The hold-expiry job asks Razorpay between reading the hold and ending it; the world may move meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from models.enums import BookingStatus, PaymentStatus
from tests.integration.payments.flow.support import Learner, Shop
from tests.integration.payments.races.invariants import assert_books_balance
from web.payments import holds

NewApi = Callable[[], Any]
HOLD = timedelta(minutes=15)


async def test_expiry_does_not_end_a_hold_the_learner_took_again_meanwhile(
        shop: Shop, new_api: NewApi, monkeypatch: pytest.MonkeyPatch) -> None:
    session_id = await shop.paid_session(capacity=2)
    asha: Learner = await shop.learner(new_api)
    first = await shop.book(asha, session_id)
    shop.clock.advance(HOLD)

    original = holds._captured_payment
    again: dict[str, Any] = {}

    async def learner_books_again_while_razorpay_answers(app: web.Application, order_id: str) -> Any:
        if not again:
            again["body"] = {}
            # Book ▶ again: the lapsed hold is ended at once and a new hold with a new order is taken.
            again["body"] = await shop.book(asha, session_id)
        return await original(app, order_id)

    monkeypatch.setattr(holds, "_captured_payment", learner_books_again_while_razorpay_answers)
    await shop.run_jobs()

    body = again["body"]
    assert body["booking"]["id"] == first["booking"]["id"]
    assert body["checkout"]["order_id"] != first["checkout"]["order_id"]
    booking = await shop.booking(body["booking"]["id"])
    # The new hold is untouched: still pending, its order still open for Checkout.
    assert booking.status == BookingStatus.PENDING_PAYMENT
    old, new = await shop.payments(booking.id or 0)
    assert (old.status, new.status) == (PaymentStatus.FAILED, PaymentStatus.CREATED)
    assert (await shop.session_row(session_id)).seats_taken == 1
    await assert_books_balance(shop.app)

    # And paying it confirms the booking, not a refund.
    confirmed = await shop.verify(asha, await shop.sandbox.pay_order(body["checkout"]["order_id"]))
    assert confirmed["booking"]["status"] == BookingStatus.CONFIRMED
    await assert_books_balance(shop.app)
