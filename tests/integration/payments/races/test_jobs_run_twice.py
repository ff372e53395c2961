"""Celery delivers at least once: every money job, run twice (one after the other, or at the same time), acts once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import BookingStatus
from tests.integration.payments.flow.support import Shop
from tests.integration.payments.races.invariants import assert_books_balance
from web.jobs import JOBS
from web.payments.holds import PAYMENT_HOLD_EXPIRY
from web.payments.webhook import PAYMENT_WEBHOOK

NewApi = Callable[[], Any]


async def test_hold_expiry_run_twice_at_once_releases_one_seat(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=2)
    asha, ravi = await shop.learner(new_api), await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    await shop.book(ravi, session_id)
    [job, _other] = await shop.jobs(PAYMENT_HOLD_EXPIRY)
    shop.clock.advance(timedelta(minutes=15))
    handler = shop.app[JOBS].get(PAYMENT_HOLD_EXPIRY)

    await asyncio.gather(handler(dict(job.args)), handler(dict(job.args)))
    await handler(dict(job.args))

    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.CANCELLED
    assert (await shop.session_row(session_id)).seats_taken == 1  # ravi's hold still counts
    assert len(await shop.notifications(asha.id, "hold_expired")) == 1
    await assert_books_balance(shop.app)


async def test_capture_webhook_job_run_twice_at_once_confirms_once(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session(capacity=2)
    asha = await shop.learner(new_api)
    body = await shop.book(asha, session_id)
    await shop.sandbox.pay_order(body["checkout"]["order_id"])
    [captured] = shop.held("payment.captured")
    await shop.sandbox.webhooks.release(captured)
    [job] = await shop.jobs(PAYMENT_WEBHOOK)
    handler = shop.app[JOBS].get(PAYMENT_WEBHOOK)

    await asyncio.gather(handler(dict(job.args)), handler(dict(job.args)), handler(dict(job.args)))
    await shop.run_jobs()

    assert (await shop.booking(body["booking"]["id"])).status == BookingStatus.CONFIRMED
    assert (await shop.session_row(session_id)).seats_taken == 1
    assert len(await shop.notifications(asha.id, "booking_confirmed")) == 1
    await assert_books_balance(shop.app)
