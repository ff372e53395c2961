"""Databases for tests, built once per pytest process and handed out empty to every test.

- SQLite: the tables are created once into a template file; each test gets its own copy (a file copy
  costs far less than `create_all`).
- PostgreSQL: one schema per pytest process (parallel suites on the same server never see each other's
  rows), its tables created by the first test that asks; every test starts on tables emptied and id
  sequences restarted in one statement, so ids start at 1 as in a fresh schema. The app commits, so a
  rolled-back outer transaction cannot isolate tests; emptying the tables can. The schema is dropped at
  the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from models.db import Database

POSTGRES_URL = os.environ.get("MENTORLIVE_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")


def _raw_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _reset_sql() -> str:
    """Empty every model table, restart their id sequences and drop any table a test created beside them,
    in one round trip. DELETE, not TRUNCATE: on tables this small a truncate's new files and fsyncs cost
    ten times more."""
    tables = [table.name for table in SQLModel.metadata.sorted_tables]
    listed = ", ".join(f"'{name}'" for name in tables)
    deletes = "\n".join(f'  DELETE FROM "{name}";' for name in reversed(tables))
    return f"""
DO $$
DECLARE extra text;
BEGIN
  FOR extra IN SELECT quote_ident(tablename) FROM pg_tables
               WHERE schemaname = current_schema() AND tablename NOT IN ({listed}) LOOP
    EXECUTE 'DROP TABLE ' || extra || ' CASCADE';
  END LOOP;
{deletes}
  PERFORM setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND n.nspname = current_schema();
END $$;
"""


class TestDatabases:
    """The per-process database state: the SQLite template and the PostgreSQL schema (both made lazily,
    so a run that needs only one of them never touches the other)."""

    __test__ = False  # a helper, not a test class

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._template: Path | None = None
        self._schema_ready = False
        self._reset = _reset_sql()

    def sqlite_template(self) -> Path:
        if self._template is None:
            path = self.workdir / "template.db"
            engine = create_engine(f"sqlite:///{path}")
            try:
                SQLModel.metadata.create_all(engine)
            finally:
                engine.dispose()
            self._template = path
        return self._template

    @asynccontextmanager
    async def open(self, kind: str, tmp_path: Path, name: str = "test.db") -> AsyncIterator[Database]:
        if kind == "sqlite":
            target = tmp_path / name
            shutil.copyfile(self.sqlite_template(), target)
            db = Database(f"sqlite+aiosqlite:///{target}")
            try:
                yield db
            finally:
                await db.dispose()
            return
        # No skip when the server is down: connecting raises and the test fails, as CI requires.
        db = Database(POSTGRES_URL, schema=self.schema)
        try:
            await self._prepare_postgres(db)
            yield db
        finally:
            await db.dispose()

    async def _prepare_postgres(self, db: Database) -> None:
        if not self._schema_ready:
            async with db.engine.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await db.create_all()
            self._schema_ready = True
            return
        async with db.engine.begin() as conn:
            # A connection a finished test left inside a transaction would block the reset: fail loudly.
            await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            await conn.execute(text(self._reset))

    def close(self) -> None:
        """Drop this process's schema (from a synchronous session finalizer, outside any event loop)."""
        if self._schema_ready:
            asyncio.run(self._drop_schema())

    async def _drop_schema(self) -> None:
        conn = await asyncpg.connect(_raw_dsn(POSTGRES_URL))
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await conn.close()
