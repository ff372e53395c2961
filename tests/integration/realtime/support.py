"""Helpers shared by the realtime integration tests (imported by conftest and tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from models.clock import ManualClock
from models.db import Database
from models.tables import Booking, MentorSession, User
from web.config import load_config
from web.http.identity import remember
from web.keys import CLOCK, CONFIG, DB, SECRET
from web.realtime import endpoints as realtime_endpoints
from web.realtime.bus import EventBus
from web.realtime.envelope import Envelope, Position
from web.realtime.setup import setup_realtime

REDIS_URL = "redis://127.0.0.1:6379/0"

# Builds a bus for the test; several RedisBus objects with one prefix stand for several processes.
BusFactory = Callable[..., Awaitable[EventBus]]
# A client of the running test app signed in as the given user (None: signed out).
ClientFactory = Callable[[User | None], Awaitable[TestClient[Any, Any]]]
# Runs a test on SQLite and again on PostgreSQL (the `db` fixture).
BOTH_DATABASES = pytest.mark.parametrize(
    "db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class Recorder:
    """A bus listener that keeps what it was told."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.lost: list[tuple[str, Position]] = []

    def on_event(self, envelope: Envelope) -> None:
        self.events.append(envelope)

    def on_lost(self, channel: str, position: Position) -> None:
        self.lost.append((channel, position))


class People:
    """Real rows: a mentor with one session, learners with and without bookings, an admin."""

    def __init__(self, mentor: User, booked: User, pending: User, stranger: User, admin: User, s: MentorSession):
        self.mentor, self.booked, self.pending, self.stranger, self.admin = mentor, booked, pending, stranger, admin
        self.session = s


async def seed_people(db: Database, clock: ManualClock) -> People:
    """The rows `People` names, committed."""
    now = clock.now()
    async with db.session() as session:
        users = [
            User(email=f"{name}@example.com", password_hash="x", name=name, role=role, created_at=now)
            for name, role in [
                ("mentor", "mentor"),
                ("booked", "learner"),
                ("pending", "learner"),
                ("stranger", "learner"),
                ("admin", "admin"),
            ]
        ]
        session.add_all(users)
        await session.flush()
        mentor, booked, pending, stranger, admin = users
        assert mentor.id is not None
        live = MentorSession(
            mentor_id=mentor.id,
            title="Async Python",
            start_at=now + timedelta(hours=1),
            capacity=5,
            room_code="room-abc",
            created_at=now,
            updated_at=now,
        )
        session.add(live)
        await session.flush()
        assert live.id is not None and booked.id is not None and pending.id is not None
        session.add_all(
            [
                Booking(session_id=live.id, learner_id=booked.id, status="confirmed", created_at=now),
                Booking(session_id=live.id, learner_id=pending.id, status="pending_payment", created_at=now),
            ]
        )
        await session.commit()
    return People(mentor, booked, pending, stranger, admin, live)


async def _login(request: web.Request) -> web.Response:
    body = await request.json()
    await remember(request, int(body["uid"]), str(body["role"]))
    return web.json_response({"ok": True})


def build_app(db: Database, clock: ManualClock, bus: EventBus | None = None, **hub: Any) -> web.Application:
    """The small app the realtime tests run against, wired like create_app will wire it."""
    config = load_config(environ={}, overrides={"hub": hub} if hub else None)
    app = web.Application()
    app[CONFIG] = config
    app[CLOCK] = clock
    app[DB] = db
    app[SECRET] = "x" * 32
    setup_session(app, EncryptedCookieStorage(b"k" * 32, cookie_name="mentorlive_test"))
    setup_realtime(app, bus=bus)
    app.router.add_routes(realtime_endpoints.routes)
    app.router.add_post("/test/login", _login)
    return app


async def receive_json(ws: aiohttp.ClientWebSocketResponse, wait: float = 5.0) -> dict[str, Any]:
    message = await ws.receive(timeout=wait)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = message.json()
    return data
