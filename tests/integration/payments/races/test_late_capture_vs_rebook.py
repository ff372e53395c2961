"""A late capture and the learner's Book ▶ again, at the same moment, on PostgreSQL.

confirm_payment read the booking as cancelled (its hold had lapsed), then took a fresh seat and wrote
"confirmed" over the row by primary key. If the learner's new hold revived the same row in between, the
row ended up confirmed while holding two seats: seats_taken drifted up for good and one seat was lost
to everyone. On SQLite the whole settlement runs under the database's write lock, so the interleaving
cannot happen there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from models.db import Database
from models.enums import BookingStatus
from tests.integration.payments.flow.support import Shop
from tests.integration.payments.races.invariants import assert_books_balance
from web.payments import settlement

NewApi = Callable[[], Any]


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite's write lock makes this interleaving impossible, so there is nothing to run."""
    return str(request.param)


async def test_late_capture_racing_a_new_hold_counts_one_seat(shop: Shop, new_api: NewApi, database: Database,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert not database.is_sqlite
    session_id = await shop.paid_session(capacity=3)
    asha = await shop.learner(new_api)
    first = await shop.book(asha, session_id)
    shop.clock.advance(timedelta(minutes=15))
    await shop.run_jobs()  # the hold lapsed unpaid
    fields = await shop.sandbox.pay_order(first["checkout"]["order_id"])  # ... but Checkout was still open

    original = settlement._give_seat
    again: dict[str, Any] = {}

    async def learner_books_again_meanwhile(*args: Any) -> bool:
        if not again:
            again["body"] = await shop.book(asha, session_id)
        return await original(*args)

    monkeypatch.setattr(settlement, "_give_seat", learner_books_again_meanwhile)
    await shop.verify(asha, fields)
    monkeypatch.undo()

    booking = await shop.booking(first["booking"]["id"])
    assert booking.status == BookingStatus.CONFIRMED
    assert (await shop.session_row(session_id)).seats_taken == 1
    await assert_books_balance(shop.app)
    # The new hold's order is closed: paying it too would be a duplicate, and is refunded.
    await shop.sandbox.pay_order(again["body"]["checkout"]["order_id"])
    await shop.deliver()
    assert (await shop.session_row(session_id)).seats_taken == 1
    await assert_books_balance(shop.app)
