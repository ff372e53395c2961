"""Login routing by role, wrong passwords, throttling, logout."""

from __future__ import annotations

from datetime import timedelta

from models.clock import ManualClock
from tests.support.api import ApiClient, sign_up
from web.accounts.service import create_account
from web.keys import CLOCK, CONFIG, DB, PASSWORDS


async def test_login_routes_each_role_to_its_dashboard(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    await sign_up(api, "mentor", "m@example.com")
    app = api.app
    await create_account(app[DB], app[CLOCK], app[PASSWORDS], "admin",
                         {"email": "root@example.com", "name": "Root", "password": "admin12345"})
    for email, password, target in [
        ("l@example.com", "learn1234", "/dashboard/learner"),
        ("m@example.com", "mentor1234", "/dashboard/mentor"),
        ("root@example.com", "admin12345", "/dashboard/admin"),
    ]:
        await api.post("/api/auth/logout")
        body = await api.json("POST", "/api/auth/login", 200, json={"email": email.upper(), "password": password})
        assert body["redirect"] == target
        assert (await api.get(target)).status == 200


async def test_wrong_password_and_unknown_email_answer_the_same(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    wrong = await api.json("POST", "/api/auth/login", 401, json={"email": "l@example.com", "password": "nope12345"})
    unknown = await api.json("POST", "/api/auth/login", 401, json={"email": "x@example.com", "password": "nope12345"})
    assert wrong["error"] == unknown["error"] == "Email or password is incorrect."
    assert (await api.get("/api/me")).status == 401


async def test_repeated_failures_from_one_address_wait_longer_each_time(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    bad = {"email": "l@example.com", "password": "guess1234"}
    for _ in range(api.app[CONFIG].int("auth", "address_free_failures")):
        await api.json("POST", "/api/auth/login", 401, json=bad)
    clock = api.app[CLOCK]
    assert isinstance(clock, ManualClock)
    waits = []
    for _ in range(4):
        good = {"email": "l@example.com", "password": "learn1234"}
        slowed = await api.json("POST", "/api/auth/login", 429, json=good)
        assert "Too many failed sign-in attempts" in slowed["error"]
        waits.append(slowed["retry_after"])
        clock.advance(timedelta(seconds=slowed["retry_after"]))
        await api.json("POST", "/api/auth/login", 401, json=bad)
    assert waits == [1, 2, 4, 8]
    clock.advance(timedelta(minutes=16))
    body = await api.json("POST", "/api/auth/login", 200, json={"email": "l@example.com", "password": "learn1234"})
    assert body["redirect"] == "/dashboard/learner"


async def test_failures_from_one_address_across_accounts_are_refused(api: ApiClient) -> None:
    for i in range(api.app[CONFIG].int("auth", "address_free_failures")):
        await api.json("POST", "/api/auth/login", 401, json={"email": f"u{i}@example.com", "password": "guess1234"})
    await api.json("POST", "/api/auth/login", 429, json={"email": "fresh@example.com", "password": "guess1234"})


async def test_logout_signs_out(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    assert (await api.json("POST", "/api/auth/logout", 200))["redirect"] == "/"
    assert (await api.get("/api/me")).status == 401


async def test_html_logout_form_needs_the_hidden_token(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    refused = await api.client.post("/logout", data={"csrf_token": "forged"}, allow_redirects=False)
    assert refused.status == 403
    assert (await api.get("/api/me")).status == 200
    done = await api.client.post("/logout", data={"csrf_token": api.csrf()}, allow_redirects=False)
    assert done.status == 303
    assert (await api.get("/api/me")).status == 401
