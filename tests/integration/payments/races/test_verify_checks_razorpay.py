"""A valid Checkout signature proves who paid which order, not that the money was captured, nor how much.

Verify used to mark the payment captured and confirm the booking on the signature alone. Now it asks
Razorpay: an authorized payment is captured first; a payment whose amount or currency is not the order's
confirms nothing and goes back; the webhook path checks the amount it carries the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.enums import BookingStatus, PaymentStatus
from tests.integration.payments.flow.support import PRICE, Shop
from tests.integration.payments.races.invariants import assert_books_balance
from web.payments.refunds import PENDING, QUEUED

NewApi = Callable[[], Any]


async def test_verify_captures_an_authorized_payment_before_confirming(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    order_id = body["checkout"]["order_id"]
    # An account (or order) on manual capture: Checkout's handler fires once the payment is authorized.
    shop.sandbox.ledger.order(order_id).payment_capture = False
    fields = await shop.sandbox.pay_order(order_id)
    assert shop.sandbox.ledger.payment(fields["razorpay_payment_id"]).status == "authorized"

    confirmed = await shop.verify(asha, fields)

    assert confirmed["booking"]["status"] == BookingStatus.CONFIRMED
    # What we record as captured, Razorpay holds as captured: the money can't be auto-refunded under the seat.
    assert shop.sandbox.ledger.payment(fields["razorpay_payment_id"]).status == "captured"
    assert confirmed["payment"]["status"] == PaymentStatus.CAPTURED
    await assert_books_balance(shop.app)


async def test_verify_refuses_a_payment_for_another_amount(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    order_id = body["checkout"]["order_id"]
    shop.sandbox.ledger.order(order_id).amount = 100  # ₹1 captured against a ₹499 order
    fields = await shop.sandbox.pay_order(order_id)

    refused = await shop.verify(asha, fields, expect=409)

    assert refused["refund"] is True
    booking = await shop.booking(body["booking"]["id"])
    assert booking.status != BookingStatus.CONFIRMED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.refund_status) == (PaymentStatus.CAPTURED, QUEUED)
    await assert_books_balance(shop.app)


async def test_webhook_capture_for_another_amount_confirms_nothing(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    order_id = body["checkout"]["order_id"]
    shop.sandbox.ledger.order(order_id).amount = PRICE - 100
    await shop.sandbox.pay_order(order_id)

    await shop.deliver()

    booking = await shop.booking(body["booking"]["id"])
    assert booking.status == BookingStatus.CANCELLED
    [payment] = await shop.payments(booking.id or 0)
    assert (payment.status, payment.refund_status) == (PaymentStatus.CAPTURED, PENDING)
    [refund] = shop.sandbox.ledger.refunds.values()
    assert refund.payment_id == payment.razorpay_payment_id
    assert (await shop.session_row(session_id)).seats_taken == 0
    await assert_books_balance(shop.app)
