"""Services read back what they wrote inside their own transaction and return it: a learner's booking,
a paid booking's settlement and Go Live each open at most two database sessions (one to judge the
rules, one unit of work to write, read the answer and commit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from models.clock import ManualClock
from models.db import Database
from tests.support.api import ApiClient, sign_up
from web.keys import DB
from web.payments.runtime import PAYMENTS

BUDGET = 2


def session_fields(clock: ManualClock, *, start_in: timedelta, price_paise: int = 0) -> dict[str, Any]:
    return {"title": "Budgeted session", "domain_tags": ["python"], "description": "Counted.", "timezone": "UTC",
            "start_at": (clock.now() + start_in).strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_minutes": 60,
            "price_paise": price_paise, "capacity": 3}


async def sessions_during(db: Database, call: Awaitable[Any]) -> tuple[int, Any]:
    before = db.sessions_opened
    result = await call
    return db.sessions_opened - before, result


async def test_a_free_booking_opens_at_most_two_database_sessions(
    app: web.Application, api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]], clock: ManualClock
) -> None:
    await sign_up(api, "mentor", "maya@example.com")
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    created = await api.json("POST", "/api/sessions", 201, json=session_fields(clock, start_in=timedelta(days=1)))
    sid = created["session"]["id"]

    opened, body = await sessions_during(app[DB], learner.json("POST", f"/api/sessions/{sid}/bookings", 201))

    assert body["booking"]["status"] == "confirmed" and body["session"]["booked_count"] == 1
    assert opened <= BUDGET


async def test_settling_a_paid_booking_opens_at_most_two_database_sessions(
    app: web.Application, api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]], clock: ManualClock
) -> None:
    await sign_up(api, "mentor", "maya@example.com")
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    fields = session_fields(clock, start_in=timedelta(days=1), price_paise=49_900)
    sid = (await api.json("POST", "/api/sessions", 201, json=fields))["session"]["id"]
    server = app[PAYMENTS].sandbox_server
    assert server is not None
    # Held: a webhook arriving during the verify call would open sessions of its own.
    server.sandbox.webhooks.hold = True
    order_id = (await learner.json("POST", f"/api/sessions/{sid}/bookings", 201))["checkout"]["order_id"]
    handler_fields = await server.sandbox.pay_order(order_id)

    opened, body = await sessions_during(app[DB], learner.json("POST", "/api/payments/verify", 200,
                                                               json=handler_fields))

    assert body["booking"]["status"] == "confirmed" and body["payment"]["status"] == "captured"
    assert opened <= BUDGET


async def test_go_live_opens_at_most_two_database_sessions(
    app: web.Application, api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]], clock: ManualClock
) -> None:
    await sign_up(api, "mentor", "maya@example.com")
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    fields = session_fields(clock, start_in=timedelta(minutes=10))
    sid = (await api.json("POST", "/api/sessions", 201, json=fields))["session"]["id"]
    await learner.json("POST", f"/api/sessions/{sid}/bookings", 201)

    opened, body = await sessions_during(app[DB], api.json("POST", f"/api/sessions/{sid}/go-live", 200))

    assert body["session"]["status"] == "live"
    assert opened <= BUDGET
