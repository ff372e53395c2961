"""Fixtures for the realtime tests: real Redis, a real SQLite database, a small app.

Tests that need Redis fail (never skip) when it is down: the bus they build cannot connect.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from tests.integration.realtime.support import PG_ADMIN_URL, REDIS_URL, BusFactory, ClientFactory, People

from models.clock import ManualClock
from models.db import Database
from models.tables import Booking, MentorSession, User
from web.realtime.bus import EventBus, HistoryPolicy
from web.realtime.memory import InProcessBus
from web.realtime.redis_bus import RedisBus


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 1, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"test:realtime:{uuid.uuid4().hex}:"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_bus_factory(redis_prefix: str, clock: ManualClock) -> AsyncIterator[BusFactory]:
    """RedisBus instances sharing one key prefix: each stands for one process."""
    made: list[RedisBus] = []

    async def make(policy: HistoryPolicy | None = None, **kwargs: Any) -> EventBus:
        bus = RedisBus.from_url(
            REDIS_URL, prefix=redis_prefix, policy=policy, clock=clock, reconnect_seconds=0.05, **kwargs
        )
        await bus.start()
        await bus.ping()
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus_factory(
    request: pytest.FixtureRequest, clock: ManualClock, redis_bus_factory: BusFactory
) -> AsyncIterator[BusFactory]:
    if request.param == "redis":
        yield redis_bus_factory
        return
    made: list[InProcessBus] = []

    async def make(policy: HistoryPolicy | None = None) -> EventBus:
        bus = InProcessBus(policy, clock)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


@pytest.fixture
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite by default; `BOTH_DATABASES` also runs a test on a throwaway PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'realtime.db'}")
        await database.create_all()
        yield database
        await database.dispose()
        return
    name = f"rt_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        database = Database(f"postgresql+asyncpg://root@127.0.0.1:5432/{name}")
        try:
            await database.create_all()
            yield database
        finally:
            await database.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def people(db: Database, clock: ManualClock) -> People:
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


@pytest.fixture
def app_clients(aiohttp_server: Any, aiohttp_client: Any) -> Callable[[web.Application], Awaitable[ClientFactory]]:
    """Start `app` once; return a factory of clients, each with its own cookie jar and user."""

    async def start(app: web.Application) -> ClientFactory:
        server: TestServer = await aiohttp_server(app)

        async def client_for(user: User | None) -> TestClient[Any, Any]:
            client: TestClient[Any, Any] = await aiohttp_client(server)
            if user is not None:
                response = await client.post("/test/login", json={"uid": user.id, "role": user.role})
                assert response.status == 200
            return client

        return client_for

    return start
