"""Accounts under attack: throttling that spares the owner, sessions that can be revoked, CSRF rotation.

A second address is a real one: the client binds its socket to 127.0.0.2 (all of 127/8 is loopback), so
the server sees another `request.remote`, as it would another network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import TCPConnector
from aiohttp.test_utils import TestClient

from models.clock import ManualClock
from tests.support.api import ApiClient, sign_up
from web.accounts.service import create_account
from web.app import SESSION_COOKIE
from web.keys import CLOCK, CONFIG, DB, PASSWORDS
from web.middlewares import CSRF_COOKIE

Browser = Callable[[str], Awaitable[ApiClient]]


@pytest.fixture
async def browser_at(api: ApiClient) -> AsyncIterator[Browser]:
    """Another browser on the same server, connecting from the given loopback address."""
    made: list[TestClient[Any, Any]] = []

    async def make(address: str) -> ApiClient:
        client: TestClient[Any, Any] = TestClient(api.client.server, connector=TCPConnector(local_addr=(address, 0)))
        await client.start_server()
        made.append(client)
        return ApiClient(client)

    yield make
    for client in made:
        await client.session.close()


def _cookie(api: ApiClient, name: str) -> str:
    return next((c.value for c in api.client.session.cookie_jar if c.key == name), "")


async def test_five_wrong_passwords_from_one_address_do_not_lock_the_owner_out_elsewhere(
    api: ApiClient, browser_at: Browser
) -> None:
    """The lockout test of the issue: before, the account was locked for everyone for 15 minutes."""
    await sign_up(api, "learner", "owner@example.com")
    await api.post("/api/auth/logout")
    attacker = await browser_at("127.0.0.1")
    statuses = []
    free = api.app[CONFIG].int("auth", "address_free_failures")
    assert free <= 5
    for i in range(7):
        guess = {"email": "owner@example.com", "password": f"guess{i}xx"}
        response = await attacker.post("/api/auth/login", json=guess)
        statuses.append(response.status)
    assert statuses[:free] == [401] * free and set(statuses[free:]) == {429}
    owner = await browser_at("127.0.0.2")
    right = {"email": "owner@example.com", "password": "learn1234"}
    body = await owner.json("POST", "/api/auth/login", 200, json=right)
    assert body["redirect"] == "/dashboard/learner"
    # The attacker's address stays slowed, even with the right password.
    again = await attacker.post("/api/auth/login", json={"email": "owner@example.com", "password": "learn1234"})
    assert again.status == 429


async def test_guessing_from_many_addresses_delays_the_account_briefly_not_for_long(
    api: ApiClient, browser_at: Browser
) -> None:
    await sign_up(api, "learner", "owner@example.com")
    await api.post("/api/auth/logout")
    auth = api.app[CONFIG].sections["auth"]
    for i in range(auth["account_free_failures"] + 2):
        # A fresh address every few guesses: no address reaches its own delay.
        guesser = await browser_at(f"127.0.1.{i // 4 + 1}")
        guess = {"email": "owner@example.com", "password": f"guess{i:03d}x"}
        response = await guesser.post("/api/auth/login", json=guess)
        if response.status == 429:
            break
    owner = await browser_at("127.0.2.1")
    right = {"email": "owner@example.com", "password": "learn1234"}
    slowed = await owner.json("POST", "/api/auth/login", 429, json=right)
    assert 0 < slowed["retry_after"] <= auth["account_max_delay_seconds"]
    clock = api.app[CLOCK]
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=slowed["retry_after"]))
    await owner.json("POST", "/api/auth/login", 200, json={"email": "owner@example.com", "password": "learn1234"})


async def test_a_copied_cookie_dies_at_logout(api: ApiClient, browser_at: Browser) -> None:
    await sign_up(api, "learner", "l@example.com")
    thief = await browser_at("127.0.0.3")
    thief.client.session.cookie_jar.update_cookies({SESSION_COOKIE: _cookie(api, SESSION_COOKIE)})
    assert (await thief.get("/api/me")).status == 200
    await api.json("POST", "/api/auth/logout", 200)
    assert (await thief.get("/api/me")).status == 401
    assert (await thief.get("/dashboard/learner", allow_redirects=False)).status in (302, 303)


async def test_password_change_signs_out_every_other_browser(api: ApiClient, browser_at: Browser) -> None:
    await sign_up(api, "learner", "l@example.com")
    laptop = await browser_at("127.0.0.4")
    await laptop.json("POST", "/api/auth/login", 200, json={"email": "l@example.com", "password": "learn1234"})
    wrong = await api.json(
        "POST", "/api/me/password", 400, json={"current_password": "nope12345", "new_password": "fresh12345"}
    )
    assert wrong["field"] == "current_password"
    weak = await api.json("POST", "/api/me/password", 400, json={"current_password": "learn1234", "new_password": "x"})
    assert weak["field"] == "new_password"
    body = await api.json(
        "POST", "/api/me/password", 200, json={"current_password": "learn1234", "new_password": "fresh12345"}
    )
    assert body["signed_out_sessions"] == 1
    assert (await laptop.get("/api/me")).status == 401
    assert (await api.get("/api/me")).status == 200
    await api.post("/api/auth/logout")
    await api.json("POST", "/api/auth/login", 401, json={"email": "l@example.com", "password": "learn1234"})
    await api.json("POST", "/api/auth/login", 200, json={"email": "l@example.com", "password": "fresh12345"})


async def test_admin_signs_a_user_out_everywhere_by_api_and_by_the_dashboard_button(
    api: ApiClient, browser_at: Browser
) -> None:
    app = api.app
    await create_account(
        app[DB],
        app[CLOCK],
        app[PASSWORDS],
        "admin",
        {"email": "root@example.com", "name": "Root", "password": "admin12345"},
    )
    phone, laptop = await browser_at("127.0.0.5"), await browser_at("127.0.0.6")
    await sign_up(phone, "mentor", "m@example.com")
    user_id = (await phone.json("GET", "/api/me", 200))["id"]
    await laptop.json("POST", "/api/auth/login", 200, json={"email": "m@example.com", "password": "mentor1234"})
    # Not for anyone but an admin.
    assert (await phone.post(f"/api/admin/users/{user_id}/signout")).status == 403
    await api.json("POST", "/api/auth/login", 200, json={"email": "root@example.com", "password": "admin12345"})
    body = await api.json("POST", f"/api/admin/users/{user_id}/signout", 200)
    assert body == {"user_id": user_id, "signed_out_sessions": 2}
    assert (await phone.get("/api/me")).status == 401 and (await laptop.get("/api/me")).status == 401
    assert (await api.get("/api/me")).status == 200
    await api.json("POST", f"/api/admin/users/{user_id + 999}/signout", 404)

    # The button on the admin dashboard: a form post with the page's token, back to the dashboard.
    await phone.json("POST", "/api/auth/login", 200, json={"email": "m@example.com", "password": "mentor1234"})
    page = await (await api.get("/dashboard/admin")).text()
    assert f'action="/admin/users/{user_id}/signout"' in page and "Sign out everywhere" in page
    done = await api.client.post(
        f"/admin/users/{user_id}/signout", data={"csrf_token": api.csrf()}, allow_redirects=False
    )
    assert done.status == 303
    assert (await phone.get("/api/me")).status == 401
    shown = await (await api.get(done.headers["Location"])).text()
    assert "1 session(s) ended" in shown


async def test_revocation_is_seen_by_another_process(
    api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]], aiohttp_client: Any
) -> None:
    """Two app instances on one database (two `serve` processes): a logout on one ends the cookie on both."""
    from web.accounts.passwords import fast_test_hasher
    from web.app import create_app

    other_app = create_app(api.app[CONFIG], clock=api.app[CLOCK], passwords=fast_test_hasher(), database=api.app[DB])
    other = ApiClient(await aiohttp_client(other_app))
    await sign_up(api, "learner", "l@example.com")
    other.client.session.cookie_jar.update_cookies({SESSION_COOKIE: _cookie(api, SESSION_COOKIE)})
    assert (await other.get("/api/me")).status == 200
    await api.post("/api/auth/logout")
    assert (await other.get("/api/me")).status == 401


async def test_csrf_token_is_rotated_at_sign_in(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    before = api.csrf()
    assert before
    await api.json("POST", "/api/auth/login", 200, json={"email": "l@example.com", "password": "learn1234"})
    after = _cookie(api, CSRF_COOKIE)
    assert after and after != before
    # The token from before sign-in no longer passes the double-submit check.
    stale = await api.client.post("/api/auth/logout", headers={"X-CSRF-Token": before})
    assert stale.status == 403
    await api.json("POST", "/api/auth/logout", 200)


async def test_a_user_signs_out_every_other_browser(api: ApiClient, browser_at: Browser) -> None:
    await sign_up(api, "learner", "l@example.com")
    phone = await browser_at("127.0.0.7")
    await phone.json("POST", "/api/auth/login", 200, json={"email": "l@example.com", "password": "learn1234"})
    body = await api.json("POST", "/api/auth/signout-everywhere", 200)
    assert body == {"signed_out_sessions": 1}
    assert (await phone.get("/api/me")).status == 401
    assert (await api.get("/api/me")).status == 200
