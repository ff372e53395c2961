"""Random sequences of everything that moves a seat or money, checking the books after every step.

Learners book, pay, verify late or never, fail, dismiss; webhooks arrive late, out of order, replayed;
holds run out; verify, webhooks and the expiry job race each other; the mentor cancels. After each step
seats_taken matches the bookings holding seats and every captured payment backs exactly one confirmed
booking or is on its way back. At the end, everything Razorpay captured is accounted for.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from models.enums import BookingStatus
from models.tables import Booking, Payment
from tests.integration.payments.flow.support import Learner, Shop
from tests.integration.payments.races.invariants import assert_books_balance
from web.keys import DB
from web.payments.sandbox.ledger import SandboxError

NewApi = Callable[[], Any]


class Player:
    def __init__(self, shop: Shop, learner: Learner) -> None:
        self.shop = shop
        self.learner = learner
        self.orders: dict[int, str] = {}  # session id → latest order id
        self.paid: list[dict[str, str]] = []

    async def book(self, session_id: int) -> None:
        reply = await self.learner.api.post(f"/api/sessions/{session_id}/bookings", json={})
        body = await reply.json()
        assert reply.status in (201, 409), body
        if reply.status == 201 and "checkout" in body:
            self.orders[session_id] = body["checkout"]["order_id"]

    async def pay(self, session_id: int) -> None:
        order_id = self.orders.get(session_id)
        if order_id is None:
            return
        # An order already paid refuses a second payment, as Razorpay does: that step is then a no-op.
        with contextlib.suppress(SandboxError):
            self.paid.append(await self.shop.sandbox.pay_order(order_id))

    async def fail(self, session_id: int, dismissed: bool) -> None:
        order_id = self.orders.get(session_id)
        if order_id is None:
            return
        body: dict[str, Any] = {"razorpay_order_id": order_id}
        if dismissed:
            body["reason"] = "dismissed"
        else:
            try:
                body["error"] = await self.shop.sandbox.fail_order(order_id)
            except SandboxError:
                return
        reply = await self.learner.api.post("/api/payments/failed", json=body)
        assert reply.status == 200, await reply.text()

    async def verify(self) -> None:
        if not self.paid:
            return
        reply = await self.learner.api.post("/api/payments/verify", json=random.choice(self.paid))
        assert reply.status in (200, 409), await reply.text()


async def _deliver_some(shop: Shop, rng: random.Random) -> None:
    held = [d.event_id for d in shop.sandbox.webhooks.outbox if d.state == "held"]
    rng.shuffle(held)
    if held:
        await shop.sandbox.webhooks.release(*held[: rng.randint(1, len(held))])
    sent = [d.event_id for d in shop.sandbox.webhooks.outbox if d.state == "delivered"]
    if sent and rng.random() < 0.5:
        await shop.sandbox.webhooks.replay(rng.choice(sent))
    await shop.run_jobs()


async def _settle_everything(shop: Shop) -> None:
    for _ in range(3):
        shop.clock.advance(timedelta(hours=1))
        await shop.sandbox.webhooks.release()
        await shop.run_jobs()
        for refund in list(shop.sandbox.ledger.refunds.values()):
            if refund.status == "pending":
                await shop.sandbox.process_refund(refund.id)
        await shop.sandbox.webhooks.release()
        await shop.run_jobs()


async def _captured_money_is_accounted_for(shop: Shop) -> None:
    async with shop.app[DB].session() as s:
        rows = {p.razorpay_payment_id: p for p in (await s.exec(select(Payment))).all()}
        bookings = {b.id: b for b in (await s.exec(select(Booking))).all()}
    for payment in shop.sandbox.ledger.payments.values():
        if payment.status not in ("captured", "refunded"):
            continue
        row = rows.get(payment.id)
        assert row is not None, f"Razorpay captured {payment.id} but no booking knows it"
        kept = row.refund_status is None
        if kept:
            assert bookings[row.booking_id].status == BookingStatus.CONFIRMED, (payment.id, row)
            assert payment.status == "captured"


@pytest.mark.parametrize("seed", range(1, 9))
async def test_random_sequences_keep_the_books(shop: Shop, new_api: NewApi, seed: int) -> None:
    rng = random.Random(seed)
    random.seed(seed)
    sessions = [await shop.paid_session(capacity=2, title=f"Paid {i}") for i in range(2)]
    players = [Player(shop, await shop.learner(new_api)) for _ in range(4)]
    cancelled: set[int] = set()

    for _step in range(45):
        player, session_id = rng.choice(players), rng.choice(sessions)
        action = rng.choice(["book", "book", "pay", "pay", "verify", "fail", "dismiss", "deliver", "time",
                             "race", "race", "cancel", "price", "refund_fails", "manual_capture"])
        if action == "book":
            await player.book(session_id)
        elif action == "pay":
            await player.pay(session_id)
            if rng.random() < 0.5:
                await player.verify()
        elif action == "verify":
            await player.verify()
        elif action in ("fail", "dismiss"):
            await player.fail(session_id, dismissed=action == "dismiss")
        elif action == "deliver":
            await _deliver_some(shop, rng)
        elif action == "time":
            shop.clock.advance(timedelta(minutes=rng.choice([1, 7, 14, 15, 16, 30])))
            await shop.run_jobs()
        elif action == "race":
            # The browser's verify, the webhooks and the expiry job, all at once, around a hold's end.
            await player.pay(session_id)
            shop.clock.advance(timedelta(minutes=rng.choice([0, 15, 16])))
            await asyncio.gather(player.verify(), _deliver_some(shop, rng), shop.run_jobs(), player.verify())
        elif action == "price":
            # Refused (409) while seats are taken; otherwise a late payment may meet a new price.
            reply = await shop.mentor.patch(f"/api/sessions/{session_id}",
                                            json={"price_paise": rng.choice([0, 49_900, 99_800])})
            assert reply.status in (200, 409), await reply.text()
        elif action == "refund_fails":
            pending = [r for r in shop.sandbox.ledger.refunds.values() if r.status == "pending"]
            if pending:
                await shop.sandbox.fail_refund(rng.choice(pending).id)
        elif action == "manual_capture":
            order_id = player.orders.get(session_id)
            if order_id is not None:
                shop.sandbox.ledger.order(order_id).payment_capture = False
                await player.pay(session_id)
                await player.verify()
        elif action == "cancel" and session_id not in cancelled and len(cancelled) == 0:
            reply = await shop.mentor.post(f"/api/sessions/{session_id}/cancel", json={})
            assert reply.status == 200, await reply.text()
            cancelled.add(session_id)
        await assert_books_balance(shop.app)

    await _settle_everything(shop)
    await assert_books_balance(shop.app)
    await _captured_money_is_accounted_for(shop)
