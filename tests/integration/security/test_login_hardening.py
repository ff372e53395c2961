"""The login throttle under concurrent guessing, and sign-in that does not reveal which emails exist."""

from __future__ import annotations

import asyncio

from tests.support.api import ApiClient, sign_up
from web.keys import CONFIG, PASSWORDS


async def test_concurrent_guesses_cannot_outrun_the_throttle(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    await api.ensure_csrf()
    guesses = [
        api.post("/api/auth/login", json={"email": "l@example.com", "password": f"guess{i:04d}x"})
        for i in range(25)
    ]
    statuses = [response.status for response in await asyncio.gather(*guesses)]
    # max_failures is 5: at most five passwords may actually be tried, however the requests interleave.
    assert set(statuses) <= {401, 429}, statuses
    tried = statuses.count(401)
    # Guessing on, one at a time, reaches the lock with at most five passwords tried in all.
    while (await api.post("/api/auth/login", json={"email": "l@example.com", "password": "again1234"})).status == 401:
        tried += 1
        assert tried <= 5, statuses
    assert tried <= 5, statuses
    locked = await api.post("/api/auth/login", json={"email": "l@example.com", "password": "learn1234"})
    assert locked.status == 429


async def test_concurrent_throttle_still_lets_a_correct_password_in(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    await api.ensure_csrf()
    good = {"email": "l@example.com", "password": "learn1234"}
    statuses = [r.status for r in await asyncio.gather(*(api.post("/api/auth/login", json=good) for _ in range(3)))]
    assert statuses == [200, 200, 200]
    # Successful sign-ins leave nothing that counts as a failure against the account or the address.
    for _ in range(api.app[CONFIG].int("auth", "address_free_failures") - 1):
        await api.json("POST", "/api/auth/login", 401, json={"email": "l@example.com", "password": "wrong1234"})
    await api.json("POST", "/api/auth/login", 200, json=good)


async def test_unknown_email_costs_a_password_check_like_a_known_one(api: ApiClient) -> None:
    """Skipping the argon2 check for unknown emails makes them answer measurably faster."""
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    passwords = api.app[PASSWORDS]
    calls: list[str] = []
    original = passwords.verify

    def counting(stored_hash: str, password: str) -> bool:
        calls.append(password)
        return original(stored_hash, password)

    passwords.verify = counting  # type: ignore[method-assign]
    try:
        await api.json("POST", "/api/auth/login", 401, json={"email": "l@example.com", "password": "wrong1234"})
        await api.json("POST", "/api/auth/login", 401, json={"email": "ghost@example.com", "password": "wrong1234"})
    finally:
        passwords.verify = original  # type: ignore[method-assign]
    assert calls == ["wrong1234", "wrong1234"]
