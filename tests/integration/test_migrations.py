"""The Alembic migration builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
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
