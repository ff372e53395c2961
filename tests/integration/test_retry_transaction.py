"""Two writers locking the same rows in opposite orders: PostgreSQL aborts one; the retry runs it again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text

from models.db import Database, retry_transaction


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite has one writer at a time, so it cannot deadlock this way."""
    return str(request.param)


async def test_a_deadlocked_transaction_is_run_again(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE pair (id int PRIMARY KEY, v int NOT NULL)"))
        await conn.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    first_locked = asyncio.Event()
    second_locked = asyncio.Event()
    runs = {"a": 0, "b": 0}

    def writer(
        name: str, first: int, second: int, mine: asyncio.Event, other: asyncio.Event
    ) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            runs[name] += 1
            async with database.engine.begin() as conn:
                await conn.execute(text(f"UPDATE pair SET v = v + 1 WHERE id = {first}"))
                mine.set()
                # Only the first attempt waits: it is the one meant to cross the other writer.
                if runs[name] == 1:
                    await asyncio.wait_for(other.wait(), 5)
                await conn.execute(text(f"UPDATE pair SET v = v + 1 WHERE id = {second}"))
        return work

    await asyncio.gather(
        retry_transaction(writer("a", 1, 2, first_locked, second_locked)),
        retry_transaction(writer("b", 2, 1, second_locked, first_locked)),
    )
    async with database.engine.connect() as conn:
        values: dict[int, int] = dict((await conn.execute(text("SELECT id, v FROM pair"))).all())
    assert values == {1: 2, 2: 2}
    assert runs["a"] + runs["b"] == 3, runs  # exactly one side was aborted and run again
