"""The Alembic migration builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from models.migrate import upgrade
from models.search_index import is_search_object
from tests.support.database import POSTGRES_URL


def _diff(connection: Connection) -> list[object]:
    # The search index's tables and indexes (models/search_index.py) have no model; leave them out of the comparison.
    context = MigrationContext.configure(connection, opts={
        "compare_type": True,
        "include_name": lambda name, type_, _parent: not is_search_object(name),
    })
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migration_matches_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await upgrade(url)
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await engine.dispose()


@pytest.mark.postgres
async def test_migration_matches_models_on_postgres() -> None:
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    database = "mentorlive_migration_test"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}"
    await upgrade(url)
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await engine.dispose()


async def test_migration_0007_indexes_sessions_made_before_it_on_sqlite(tmp_path: Path) -> None:
    """Sessions that existed before the search index are found once 0004 ran; later edits keep it current."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await upgrade(url, "0006")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO users (id, email, password_hash, name, role, timezone, created_at) "
            "VALUES (1, 'maya@example.com', 'x', 'Maya Mentor', 'mentor', 'UTC', '2030-01-01 00:00:00')"))
        await conn.execute(text(
            "INSERT INTO mentor_sessions (id, mentor_id, title, domain_tags, description, start_at, "
            "duration_minutes, timezone, price_paise, currency, capacity, seats_taken, status, room_code, record, "
            "created_at, updated_at) VALUES (7, 1, 'Old session', '[\"données\"]', 'Made before search', "
            "'2030-01-02 10:00:00', 60, 'UTC', 0, 'INR', 1, 0, 'scheduled', 'old-room', 0, "
            "'2030-01-01 00:00:00', '2030-01-01 00:00:00')"))
    await upgrade(url)

    async def found(words: str) -> list[int]:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT rowid FROM session_search WHERE session_search MATCH :q"),
                                      {"q": words})
            return [int(r[0]) for r in rows]

    assert await found('"maya"*') == [7], "the mentor's name"
    assert await found('"donn"*') == [7], "tags, read as text (not their JSON escapes)"
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE mentor_sessions SET title = 'Renamed' WHERE id = 7"))
    assert await found('"renamed"*') == [7] and await found('"old"*') == []
    await engine.dispose()
