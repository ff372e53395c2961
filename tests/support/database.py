"""Databases for tests: a fresh SQLite file, or a private schema on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from models.db import Database

POSTGRES_URL = os.environ.get("MENTORLIVE_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")


def _raw_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def test_database(kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    if kind == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.create_all()
        try:
            yield db
        finally:
            await db.dispose()
        return
    # No skip when the server is down: connecting raises and the test fails, as CI requires.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_raw_dsn(POSTGRES_URL))
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    db = Database(POSTGRES_URL, schema=schema)
    try:
        await db.create_all()
        yield db
    finally:
        await db.dispose()
        conn = await asyncpg.connect(_raw_dsn(POSTGRES_URL))
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()
