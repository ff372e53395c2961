"""Book ▶ again with an open hold resumes that checkout, even when the learner's own hold is the last seat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import BookingStatus
from tests.integration.payments.flow.support import Shop
from tests.integration.payments.races.invariants import assert_books_balance

NewApi = Callable[[], Any]


async def test_book_again_on_a_session_my_hold_fills_resumes_the_same_order(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)
    first = await shop.book(asha, session_id)

    again = await shop.book(asha, session_id)
    assert again["checkout"]["order_id"] == first["checkout"]["order_id"]
    await shop.book(ravi, session_id, expect=409)  # others still find it full
    assert (await shop.session_row(session_id)).seats_taken == 1
    await assert_books_balance(shop.app)


async def test_book_again_after_my_hold_lapsed_on_a_full_session_takes_a_new_hold(shop: Shop,
                                                                                  new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    first = await shop.book(asha, session_id)
    shop.clock.advance(timedelta(minutes=15))  # the expiry job has not run yet

    again = await shop.book(asha, session_id)
    assert again["booking"]["status"] == BookingStatus.PENDING_PAYMENT
    assert again["checkout"]["order_id"] != first["checkout"]["order_id"]
    assert (await shop.session_row(session_id)).seats_taken == 1
    await shop.run_jobs()  # the first hold's job finds nothing of its own left to end
    assert (await shop.booking(again["booking"]["id"])).status == BookingStatus.PENDING_PAYMENT
    await assert_books_balance(shop.app)
