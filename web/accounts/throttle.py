"""Slows down, then refuses, repeated failed logins per account and per address.

Failures are rows in the database, so every web node counts the same attempts.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select

from models.clock import Clock, as_utc
from models.db import Database
from models.tables import LoginFailure


class LoginThrottle:
    def __init__(self, db: Database, clock: Clock, *, max_failures: int, window_seconds: int,
                 delay_seconds: float) -> None:
        self.db = db
        self.clock = clock
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_seconds)
        self.delay_seconds = delay_seconds

    @staticmethod
    def keys(email: str, address: str) -> tuple[str, str]:
        return (f"email:{email}", f"ip:{address}")

    async def retry_after(self, keys: tuple[str, ...]) -> int:
        """Seconds until a login may be tried again, 0 when it may be tried now."""
        since = self.clock.now() - self.window
        async with self.db.session() as s:
            worst = 0
            for key in keys:
                row = (await s.exec(
                    select(func.count(), func.max(LoginFailure.at))  # type: ignore[call-overload]
                    .where(LoginFailure.key == key, LoginFailure.at >= since)
                )).one()
                count, last = row
                if count >= self.max_failures and last is not None:
                    remaining = (as_utc(last) + self.window - self.clock.now()).total_seconds()
                    worst = max(worst, math.ceil(remaining))
            return worst

    async def failures(self, keys: tuple[str, ...]) -> int:
        since = self.clock.now() - self.window
        async with self.db.session() as s:
            counts = []
            for key in keys:
                counts.append((await s.exec(
                    select(func.count()).where(LoginFailure.key == key, LoginFailure.at >= since)  # type: ignore[call-overload]
                )).one())
            return max(counts)

    async def record_failure(self, keys: tuple[str, ...]) -> None:
        now = self.clock.now()
        async with self.db.session() as s:
            for key in keys:
                s.add(LoginFailure(key=key, at=now))
            await s.execute(delete(LoginFailure).where(LoginFailure.at < now - self.window))  # type: ignore[arg-type]
            await s.commit()

    async def reserve_attempt(self, keys: tuple[str, ...]) -> list[int]:
        """Record this attempt as a failure under every key; the ids let a success take it back.

        The attempt counts as a failure before the password is checked: checking first and recording
        after let concurrent guesses all pass the check and try far more passwords than the limit.
        """
        now = self.clock.now()
        async with self.db.session() as s:
            rows = [LoginFailure(key=key, at=now) for key in keys]
            s.add_all(rows)
            await s.flush()
            ids = [row.id for row in rows if row.id is not None]
            await s.execute(delete(LoginFailure).where(col(LoginFailure.at) < now - self.window))
            await s.commit()
        return ids

    async def release_attempt(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self.db.session() as s:
            await s.execute(delete(LoginFailure).where(col(LoginFailure.id).in_(ids)))
            await s.commit()

    async def clear(self, key: str) -> None:
        async with self.db.session() as s:
            await s.execute(delete(LoginFailure).where(LoginFailure.key == key))  # type: ignore[arg-type]
            await s.commit()

    def delay_for(self, failures: int) -> float:
        # Grows with each failure so scripted guessing gets slow long before the lock.
        return min(self.delay_seconds * failures, 5.0)
