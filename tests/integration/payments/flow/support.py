"""Driving paid bookings the way the pages and Razorpay do, and reading what they left in the database."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel import col, func, select

from models.clock import ManualClock
from models.enums import BookingStatus, SessionStatus
from models.tables import Booking, MentorSession, Notification, Payment, ScheduledJob, WebhookEvent
from tests.support.api import ApiClient, sign_up
from web.bookings.service import release_seat
from web.jobs import JOB_RUNNER
from web.keys import CLOCK, DB
from web.payments.refunds import schedule_refunds
from web.payments.runtime import PAYMENTS, PaymentsRuntime
from web.payments.sandbox.service import RazorpaySandbox

KEY_ID = "rzp_test_FlowTests0001"
KEY_SECRET = "flow-key-secret-for-tests"
WEBHOOK_SECRET = "flow-webhook-secret-for-tests"
PRICE = 49_900


def dead_address() -> str:
    """A loopback URL with nothing listening: bound and closed again, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Learner:
    api: ApiClient
    id: int
    email: str


class Shop:
    """One mentor, any number of learners, the sandbox with its webhooks held until a test sends them."""

    def __init__(self, app: web.Application, mentor: ApiClient, mentor_id: int) -> None:
        self.app = app
        self.mentor = mentor
        self.mentor_id = mentor_id
        self._learners = 0

    @classmethod
    async def open(cls, app: web.Application, api: ApiClient) -> Shop:
        me = await sign_up(api, "mentor", "maya@example.com")
        shop = cls(app, api, int(me["user"]["id"]))
        # Deterministic order: tests decide when each webhook arrives and when refunds settle.
        shop.sandbox.webhooks.hold = True
        shop.sandbox.refund_delay = None
        return shop

    @property
    def runtime(self) -> PaymentsRuntime:
        return self.app[PAYMENTS]

    @property
    def sandbox(self) -> RazorpaySandbox:
        server = self.runtime.sandbox_server
        assert server is not None
        return server.sandbox

    @property
    def clock(self) -> ManualClock:
        clock = self.app[CLOCK]
        assert isinstance(clock, ManualClock)
        return clock

    async def learner(self, new_api: Callable[[], Any]) -> Learner:
        self._learners += 1
        email = f"learner{self._learners}@example.com"
        client = await new_api()
        me = await sign_up(client, "learner", email, name=f"Learner {self._learners}")
        return Learner(client, int(me["user"]["id"]), email)

    async def paid_session(self, *, capacity: int = 1, price: int = PRICE, title: str = "Paid system design") -> int:
        start = self.clock.now() + timedelta(days=2)
        body = {"title": title, "domain_tags": ["python"], "description": "Paid.", "timezone": "UTC",
                "start_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_minutes": 60,
                "price_paise": price, "capacity": capacity}
        created = await self.mentor.json("POST", "/api/sessions", 201, json=body)
        return int(created["session"]["id"])

    async def book(self, learner: Learner, session_id: int, expect: int = 201) -> dict[str, Any]:
        body: dict[str, Any] = await learner.api.json("POST", f"/api/sessions/{session_id}/bookings", expect, json={})
        return body

    async def verify(self, learner: Learner, fields: dict[str, str], expect: int = 200) -> dict[str, Any]:
        body: dict[str, Any] = await learner.api.json("POST", "/api/payments/verify", expect, json=fields)
        return body

    async def deliver(self, *event_ids: str) -> None:
        """Send held webhooks (all, or these in this order), then run the jobs they recorded."""
        await self.sandbox.webhooks.release(*event_ids)
        await self.run_jobs()

    async def run_jobs(self) -> int:
        return await self.app[JOB_RUNNER].run_due()

    def held(self, event: str) -> list[str]:
        return [d.event_id for d in self.sandbox.webhooks.events(event) if d.state == "held"]

    # what the database says

    async def booking(self, booking_id: int) -> Booking:
        async with self.app[DB].session() as s:
            row = await s.get(Booking, booking_id)
        assert row is not None
        return row

    async def payments(self, booking_id: int) -> list[Payment]:
        async with self.app[DB].session() as s:
            return list((await s.exec(select(Payment).where(Payment.booking_id == booking_id)
                                      .order_by(col(Payment.id)))).all())

    async def session_row(self, session_id: int) -> MentorSession:
        async with self.app[DB].session() as s:
            row = await s.get(MentorSession, session_id)
        assert row is not None
        return row

    async def count(self, model: Any, *where: Any) -> int:
        async with self.app[DB].session() as s:
            return int((await s.exec(select(func.count()).select_from(model).where(*where))).one())

    async def notifications(self, user_id: int, kind: str) -> list[Notification]:
        async with self.app[DB].session() as s:
            return list((await s.exec(select(Notification).where(
                Notification.user_id == user_id, Notification.kind == kind))).all())

    async def jobs(self, kind: str) -> list[ScheduledJob]:
        async with self.app[DB].session() as s:
            return list((await s.exec(select(ScheduledJob).where(ScheduledJob.kind == kind)
                                      .order_by(col(ScheduledJob.id)))).all())

    async def webhook_events(self) -> int:
        return await self.count(WebhookEvent)


async def paid_and_confirmed(shop: Shop, learner: Learner, session_id: int) -> dict[str, Any]:
    body = await shop.book(learner, session_id)
    await shop.verify(learner, await shop.sandbox.pay_order(body["checkout"]["order_id"]))
    return body


async def cancel_with_refunds(shop: Shop, session_id: int) -> None:
    """What cancelling a session does with its bookings (web.bookings.cancel_session_bookings), in one transaction."""
    now = shop.clock.now()
    async with shop.app[DB].session() as s:
        session = await s.get(MentorSession, session_id)
        assert session is not None
        session.status = SessionStatus.CANCELLED
        s.add(session)
        active = list((await s.exec(select(Booking).where(
            col(Booking.session_id) == session_id,
            col(Booking.status).in_([BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT])))).all())
        await schedule_refunds(s, session, active, now)
        for booking in active:
            if booking.status != BookingStatus.REFUNDED:
                booking.status = BookingStatus.CANCELLED
                s.add(booking)
        await release_seat(s, session_id, len(active))
        await s.commit()
