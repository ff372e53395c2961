"""Fixtures for the realtime tests: real Redis, a real SQLite (or PostgreSQL) database, a small app.

Tests that need Redis fail (never skip) when it is down: the bus they build cannot connect.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from models.clock import ManualClock
from models.db import Database
from models.tables import User
from tests.integration.realtime.support import REDIS_URL, BusFactory, ClientFactory, People, seed_people
from tests.support.database import TestDatabases
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
async def db(request: pytest.FixtureRequest, tmp_path: Path, databases: TestDatabases) -> AsyncIterator[Database]:
    """SQLite by default; `BOTH_DATABASES` also runs a test on the run's PostgreSQL schema."""
    async with databases.open(getattr(request, "param", "sqlite"), tmp_path, name="realtime.db") as database:
        yield database


@pytest.fixture
async def people(db: Database, clock: ManualClock) -> People:
    return await seed_people(db, clock)


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
