"""A partial refund made by hand in Razorpay's dashboard is not the whole payment coming back.

Support gives ₹100 of ₹499 back as a goodwill gesture. That used to mark the whole payment refunded, so when
the mentor later cancelled the session nothing more was refunded and the learner lost the other ₹399
(and the mentor's earnings showed ₹0 kept). The refund job must also not adopt that partial refund as
the full refund it was asked to make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.enums import BookingStatus, PaymentStatus
from tests.integration.payments.flow.support import PRICE, Shop, paid_and_confirmed
from tests.integration.payments.races.invariants import assert_books_balance

NewApi = Callable[[], Any]
GOODWILL = 10_000


async def test_partial_refund_by_hand_then_cancel_refunds_the_rest(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await paid_and_confirmed(shop, asha, session_id)
    [payment] = await shop.payments(body["booking"]["id"])
    assert payment.razorpay_payment_id is not None
    await shop.deliver()

    partial = await shop.runtime.gateway.refund(payment.razorpay_payment_id, GOODWILL)
    await shop.sandbox.process_refund(partial["id"])
    await shop.deliver()

    [payment] = await shop.payments(body["booking"]["id"])
    assert (payment.status, payment.refund_status) == (PaymentStatus.CAPTURED, None)
    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.CONFIRMED
    await assert_books_balance(shop.app)

    await shop.mentor.json("POST", f"/api/sessions/{session_id}/cancel", 200, json={})
    await shop.run_jobs()
    rest = [r for r in shop.sandbox.ledger.refunds.values() if r.id != partial["id"]]
    assert [r.amount for r in rest] == [PRICE - GOODWILL]
    await shop.sandbox.process_refund(rest[0].id)
    await shop.deliver()

    [payment] = await shop.payments(body["booking"]["id"])
    assert (payment.status, payment.refund_id) == (PaymentStatus.REFUNDED, rest[0].id)
    assert shop.sandbox.ledger.payment(payment.razorpay_payment_id or "").amount_refunded == PRICE
    await assert_books_balance(shop.app)
