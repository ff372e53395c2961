"""Slows repeated failed sign-ins per address and per account, without locking the owner out.

Each failure is a row (`login_failures`) keyed by address (`ip:…`) or account (`email:…`), so every
web node counts the same attempts. A key may fail `free` times in the window at no cost; after that
each further attempt must wait a delay that doubles with every failure, up to a cap:

- per address: 5 free, then 1 s, 2 s, 4 s … up to 15 minutes: one address guessing gets nowhere fast;
- per account: 10 free, then the same doubling up to one minute: guesses spread over many addresses
  are slowed, but the owner signing in from another address is never held out for long, and five
  wrong passwords from one address cost the owner elsewhere nothing at all.

An attempt counts as a failure before its password is checked (`reserve`) and is taken back when the
password was right (`release`): checking first and recording after let concurrent guesses all pass the
check. An attempt is refused when, counting every other recorded failure of a key, the key's delay has
not passed since the newest of them; of concurrent attempts, each later checker sees the earlier ones.

Signup's first step is counted under `signup:…` per address (a plain budget per window), since it is
where anyone could probe the wizard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select

from models.clock import Clock, as_utc
from models.db import Database
from models.tables import LoginFailure
from web.config import Config


@dataclass(frozen=True)
class Rule:
    """How many failures a key may have for free, the first delay after them, and the delay's cap."""

    free: int
    first_delay: float
    max_delay: float

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.first_delay * 2 ** (failures - self.free), self.max_delay)


@dataclass(frozen=True)
class ThrottleSettings:
    address: Rule
    account: Rule
    window_seconds: int
    signup_checks: int


def throttle_settings(config: Config) -> ThrottleSettings:
    def rule(kind: str) -> Rule:
        return Rule(config.int("auth", f"{kind}_free_failures"), config.float("auth", "failure_delay_seconds"),
                    config.float("auth", f"{kind}_max_delay_seconds"))

    return ThrottleSettings(
        address=rule("address"),
        account=rule("account"),
        window_seconds=config.int("auth", "failure_window_seconds"),
        signup_checks=config.int("auth", "signup_checks_per_address"),
    )


class LoginThrottle:
    def __init__(self, db: Database, clock: Clock, settings: ThrottleSettings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.window = timedelta(seconds=settings.window_seconds)

    @staticmethod
    def account_key(email: str) -> str:
        return f"email:{email}"

    @staticmethod
    def address_key(address: str) -> str:
        return f"ip:{address}"

    def rule_for(self, key: str) -> Rule:
        return self.settings.account if key.startswith("email:") else self.settings.address

    async def _failures(self, key: str, since: datetime, *,
                        excluding: Sequence[int] = ()) -> tuple[int, datetime | None]:
        async with self.db.session() as s:
            query = select(func.count(), func.max(LoginFailure.at)).where(  # type: ignore[call-overload]
                col(LoginFailure.key) == key, col(LoginFailure.at) > since)
            if excluding:
                query = query.where(col(LoginFailure.id).not_in(list(excluding)))
            count, last = (await s.exec(query)).one()
        return int(count), as_utc(last) if last is not None else None

    async def retry_after(self, keys: Sequence[str], *, excluding: Sequence[int] = ()) -> int:
        """Seconds until a sign-in under these keys may be tried, 0 when it may be tried now."""
        now = self.clock.now()
        worst = 0.0
        for key in keys:
            count, last = await self._failures(key, now - self.window, excluding=excluding)
            delay = self.rule_for(key).delay(count)
            if delay > 0 and last is not None:
                worst = max(worst, (last + timedelta(seconds=delay) - now).total_seconds())
        return math.ceil(worst) if worst > 0 else 0

    async def reserve(self, keys: Sequence[str]) -> list[int]:
        """Record this attempt as a failure under every key; the ids let a success take it back."""
        now = self.clock.now()
        async with self.db.session() as s:
            rows = [LoginFailure(key=key, at=now) for key in keys]
            s.add_all(rows)
            await s.flush()
            ids = [row.id for row in rows if row.id is not None]
            await s.execute(delete(LoginFailure).where(col(LoginFailure.at) < now - self.window))
            await s.commit()
        return ids

    async def release(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        async with self.db.session() as s:
            await s.execute(delete(LoginFailure).where(col(LoginFailure.id).in_(list(ids))))
            await s.commit()

    async def failures(self, key: str) -> int:
        return (await self._failures(key, self.clock.now() - self.window))[0]

    async def clear(self, key: str) -> None:
        async with self.db.session() as s:
            await s.execute(delete(LoginFailure).where(col(LoginFailure.key) == key))
            await s.commit()

    async def signup_check(self, address: str) -> int:
        """Count one signup step-1 check from `address`; the seconds to wait when over budget, else 0."""
        key = f"signup:{address}"
        ids = await self.reserve([key])
        count, _ = await self._failures(key, self.clock.now() - self.window)
        if count <= self.settings.signup_checks:
            return 0
        await self.release(ids)
        async with self.db.session() as s:
            oldest = (await s.exec(select(LoginFailure.at).where(
                col(LoginFailure.key) == key, col(LoginFailure.at) > self.clock.now() - self.window)
                .order_by(col(LoginFailure.at)).limit(1))).first()
        if oldest is None:
            return 1
        return max(1, math.ceil((as_utc(oldest) + self.window - self.clock.now()).total_seconds()))
