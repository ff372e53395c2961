"""Razorpay unreachable: Book ▶ answers 502 and leaves no seat held; expiry still frees seats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import BookingStatus, PaymentStatus
from models.tables import Payment
from tests.integration.payments.flow.support import Shop
from web.payments.holds import EXPIRED, PAYMENT_HOLD_EXPIRY

NewApi = Callable[[], Any]


async def stop_sandbox(shop: Shop) -> None:
    server = shop.runtime.sandbox_server
    assert server is not None
    await server.close()


async def test_gateway_down_answers_502_and_holds_no_seat(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    await stop_sandbox(shop)

    refused = await shop.book(asha, session_id, expect=502)

    assert refused["error"] == ("Payments are unavailable right now: the payment service could not be reached. "
                                "Your seat was not held; please try again shortly.")
    assert (await shop.session_row(session_id)).seats_taken == 0
    assert await shop.count(Payment) == 0
    detail = await asha.api.json("GET", f"/api/sessions/{session_id}", 200)
    assert detail["session"]["viewer"]["booking_status"] == BookingStatus.CANCELLED
    assert detail["session"]["viewer"]["can_book"] is True

    # The hold's expiry job and its order check, scheduled with the hold, find nothing left to do.
    shop.clock.advance(timedelta(minutes=15))
    assert await shop.run_jobs() == 2
    [job] = await shop.jobs(PAYMENT_HOLD_EXPIRY)
    assert job.done_at is not None and job.last_error is None
    assert (await shop.session_row(session_id)).seats_taken == 0


async def test_expiry_with_razorpay_unreachable_still_frees_the_seat(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=1)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    await stop_sandbox(shop)

    shop.clock.advance(timedelta(minutes=15))
    await shop.run_jobs()

    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.CANCELLED
    [payment] = await shop.payments(body["booking"]["id"])
    assert (payment.status, payment.failure_reason) == (PaymentStatus.FAILED, EXPIRED)
    assert (await shop.session_row(session_id)).seats_taken == 0
