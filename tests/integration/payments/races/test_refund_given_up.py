"""A refund job that keeps failing must not end silently with the learner's money kept.

The dispatcher gives a job up after `max_attempts`. For `payment_refund` that used to mean the payment
stayed captured with its refund "queued" forever and nobody was told. Now the admins and the learner
hear of it, and a new refund job tries again later, so a Razorpay outage longer than the retries heals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.enums import PaymentStatus, Role
from models.tables import User
from tests.integration.payments.flow.support import (
    KEY_ID,
    KEY_SECRET,
    WEBHOOK_SECRET,
    Shop,
    dead_address,
    paid_and_confirmed,
)
from tests.integration.payments.races.invariants import assert_books_balance
from web.keys import DB
from web.payments.gateway import PaymentGateway
from web.payments.refunds import PAYMENT_REFUND, PENDING, QUEUED, run_refund

REFUND_STUCK = "refund_stuck"

NewApi = Callable[[], Any]


async def _admin(shop: Shop) -> int:
    async with shop.app[DB].session() as s:
        admin = User(email="root@example.com", password_hash="x", name="Root", role=Role.ADMIN,
                     created_at=shop.clock.now())
        s.add(admin)
        await s.commit()
        assert admin.id is not None
        return admin.id


async def test_a_refund_given_up_is_surfaced_and_retried_later(shop: Shop, new_api: NewApi) -> None:
    admin_id = await _admin(shop)
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await paid_and_confirmed(shop, asha, session_id)
    await shop.mentor.json("POST", f"/api/sessions/{session_id}/cancel", 200, json={})

    runtime = shop.runtime
    reachable, server = runtime.gateway, runtime.sandbox_server
    assert server is not None
    runtime.bind(PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                base_url=dead_address(), timeout=2), server.checkout_js_url, server)
    for _ in range(12):
        await shop.run_jobs()
        first = (await shop.jobs(PAYMENT_REFUND))[0]
        if first.done_at is not None:
            break
        shop.clock.advance(timedelta(minutes=20))
    assert first.done_at is not None and first.attempts == 8
    assert first.last_error is not None and "could not be reached" in first.last_error
    [payment] = await shop.payments(body["booking"]["id"])
    assert (payment.status, payment.refund_status) == (PaymentStatus.CAPTURED, QUEUED)

    [alert] = await shop.notifications(admin_id, REFUND_STUCK)
    assert alert.data["razorpay_payment_id"] == payment.razorpay_payment_id
    assert len(await shop.notifications(asha.id, "refund_delayed")) == 1
    later = [job for job in await shop.jobs(PAYMENT_REFUND) if job.done_at is None]
    assert [job.args.get("round") for job in later] == [1]

    # Razorpay is back: the later job refunds, and nobody is told twice.
    runtime.bind(reachable, server.checkout_js_url, server)
    shop.clock.set(later[0].due_at)
    await shop.run_jobs()
    assert len(shop.sandbox.ledger.refunds) == 1
    [payment] = await shop.payments(body["booking"]["id"])
    assert payment.refund_status == PENDING
    assert len(await shop.notifications(admin_id, REFUND_STUCK)) == 1
    await assert_books_balance(shop.app)


async def test_a_redelivered_refund_job_starts_no_second_chain_of_checks(shop: Shop, new_api: NewApi) -> None:
    session_id = await shop.paid_session()
    asha = await shop.learner(new_api)
    body = await paid_and_confirmed(shop, asha, session_id)
    await shop.mentor.json("POST", f"/api/sessions/{session_id}/cancel", 200, json={})
    [job] = await shop.jobs(PAYMENT_REFUND)
    await shop.run_jobs()

    # Celery hands the same job over again (its ack was lost): same args, run once more.
    await run_refund(shop.app, dict(job.args))

    assert len(shop.sandbox.ledger.refunds) == 1
    checks = [j for j in await shop.jobs(PAYMENT_REFUND) if j.done_at is None]
    assert [j.args.get("check") for j in checks] == [1]
    [payment] = await shop.payments(body["booking"]["id"])
    assert payment.refund_status == PENDING
