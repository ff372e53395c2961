"""GET /api/payments/earnings: a mentor's takings per paid session, in paise and as ₹ text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.payments.flow.support import Shop, cancel_with_refunds, paid_and_confirmed
from tests.support.api import sign_up

NewApi = Callable[[], Any]


async def test_earnings_per_session_with_refunds(shop: Shop, new_api: NewApi) -> None:
    big = await shop.paid_session(capacity=3, price=9_876_543, title="Big ticket")
    cancelled = await shop.paid_session(capacity=2, title="Cancelled one")
    unsold = await shop.paid_session(capacity=2, title="Nobody came")
    asha, ravi, meera = [await shop.learner(new_api) for _ in range(3)]
    await paid_and_confirmed(shop, asha, big)
    await paid_and_confirmed(shop, ravi, big)
    await shop.book(meera, big)  # a hold: not money yet
    await paid_and_confirmed(shop, meera, cancelled)
    await cancel_with_refunds(shop, cancelled)

    body = await shop.mentor.json("GET", "/api/payments/earnings", 200)

    rows = {row["session_id"]: row for row in body["sessions"]}
    assert set(rows) == {big, cancelled, unsold}
    assert {k: rows[big][k] for k in ("title", "paid_bookings", "gross_paise", "refunded_paise", "net_paise")} == {
        "title": "Big ticket", "paid_bookings": 2, "gross_paise": 19_753_086, "refunded_paise": 0,
        "net_paise": 19_753_086}
    assert rows[big]["display"] == {"gross": "₹1,97,530.86", "refunded": "₹0.00", "net": "₹1,97,530.86"}
    # A refund still on its way is already money the mentor will not keep.
    assert (rows[cancelled]["paid_bookings"], rows[cancelled]["gross_paise"], rows[cancelled]["net_paise"]) == (
        0, 49_900, 0)
    assert rows[cancelled]["display"] == {"gross": "₹499.00", "refunded": "₹499.00", "net": "₹0.00"}
    assert (rows[unsold]["gross_paise"], rows[unsold]["display"]["net"]) == (0, "₹0.00")
    assert body["totals"]["net_paise"] == 19_753_086
    assert body["totals"]["display"]["gross"] == "₹1,98,029.86"


async def test_earnings_are_the_mentors_own_and_mentors_only(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    await paid_and_confirmed(shop, asha, session_id)
    other = await new_api()
    await sign_up(other, "mentor", "other@example.com")

    assert (await other.json("GET", "/api/payments/earnings", 200))["sessions"] == []
    await asha.api.json("GET", "/api/payments/earnings", 403)
