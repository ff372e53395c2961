"""Migration 0002 on a database that already holds feedback and resources: old rows stay valid."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from models.migrate import upgrade
from tests.support.database import POSTGRES_URL

ROWS = [
    "INSERT INTO users (id, email, password_hash, name, role, timezone, created_at) VALUES "
    "(1, 'm@example.com', 'x', 'Maya', 'mentor', 'UTC', '2030-01-01 09:00:00'), "
    "(2, 'l@example.com', 'x', 'Lena', 'learner', 'UTC', '2030-01-01 09:00:00')",
    "INSERT INTO mentor_sessions (id, mentor_id, title, domain_tags, description, start_at, duration_minutes, "
    "timezone, price_paise, currency, capacity, seats_taken, status, room_code, record, created_at, updated_at) "
    "VALUES (1, 1, 'Old', '[]', '', '2030-01-01 10:00:00', 60, 'UTC', 0, 'INR', 1, 1, 'ended', 'room-old', "
    "false, '2030-01-01 09:00:00', '2030-01-01 09:00:00')",
    "INSERT INTO bookings (id, session_id, learner_id, status, created_at) "
    "VALUES (1, 1, 2, 'confirmed', '2030-01-01 09:00:00')",
    "INSERT INTO feedback (id, session_id, learner_id, rating, comment, created_at) "
    "VALUES (1, 1, 2, 4, 'ok', '2030-01-01 11:30:00')",
    "INSERT INTO resources (id, session_id, title, path, content_type, size_bytes, created_at) "
    "VALUES (1, 1, 'Slides', 'abc', 'application/pdf', 10, '2030-01-01 11:00:00')",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    database = "mentorlive_migration_0002_test"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_existing_rows_survive_the_upgrade(url: str) -> None:
    await upgrade(url, "0001")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in ROWS:
                await conn.execute(text(statement))
        await upgrade(url)
        async with engine.connect() as conn:
            feedback = (await conn.execute(text("SELECT created_at, updated_at FROM feedback"))).one()
            resource = (await conn.execute(text("SELECT original_name, uploaded_by FROM resources"))).one()
            booking = (await conn.execute(text("SELECT attended_at FROM bookings"))).one()
    finally:
        await engine.dispose()
    assert feedback[0] == feedback[1]
    assert tuple(resource) == ("", None)
    assert booking[0] is None
