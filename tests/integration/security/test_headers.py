"""The protective headers on every response, errors included, and Secure cookies behind https."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from models.clock import ManualClock
from models.db import Database
from tests.conftest import make_config
from tests.support.api import ApiClient, sign_up
from web.accounts.passwords import fast_test_hasher
from web.app import SESSION_COOKIE, create_app
from web.middlewares import CSRF_COOKIE


def assert_protected(response: ClientResponse) -> None:
    where = f"{response.method} {response.url.path} ({response.status})"
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("script-src", [""])[0] == "'self'", where
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"], where
    assert directives["style-src"] == ["'self'"], where
    assert directives["frame-ancestors"] == ["'self'"] and directives["object-src"] == ["'none'"], where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert response.headers.get("Server") == "MentorLive", where


async def _app_with_failing_routes(app: web.Application) -> web.Application:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_get("/api/test-boom", boom)
    app.router.add_get("/test-boom", boom)
    return app


async def test_every_response_carries_the_protective_headers(
    app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    api = ApiClient(await aiohttp_client(await _app_with_failing_routes(app)))
    await sign_up(api, "learner", "l@example.com")
    checks: list[tuple[str, str, int, dict[str, Any]]] = [
        ("GET", "/", 200, {}),
        ("GET", "/login", 200, {}),
        ("GET", "/dashboard/learner", 200, {}),
        ("GET", "/api/me", 200, {}),
        ("GET", "/static/app.js", 200, {}),
        ("GET", "/no-such-page", 404, {}),
        ("GET", "/api/no-such-thing", 404, {}),
        ("GET", "/api/auth/login", 405, {}),
        (
            "POST",
            "/api/auth/login",
            413,
            {"data": b"x" * (9 * 1024 * 1024), "headers": {"Content-Type": "application/json"}},
        ),
        ("GET", "/api/test-boom", 500, {}),
        ("GET", "/test-boom", 500, {}),
        ("POST", "/api/auth/logout", 403, {"headers": {"X-CSRF-Token": "forged"}}),
    ]
    for method, path, status, kwargs in checks:
        if status == 413:
            kwargs["headers"]["X-CSRF-Token"] = api.csrf()
        response = await api.client.request(method, path, **kwargs)
        assert response.status == status, (method, path, response.status)
        assert_protected(response)
        personal = not path.startswith("/static/")
        assert (response.headers.get("Cache-Control") == "no-store") == personal, (path, response.headers)
        if path.startswith("/api/") and status >= 400:
            assert "error" in await response.json()


async def test_cookies_are_secure_when_the_site_is_served_over_https(
    tmp_path: Path,
    clock: ManualClock,
    database: Database,
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    config = make_config(tmp_path, web={"public_url": "https://mentorlive.example"})
    api = ApiClient(
        await aiohttp_client(create_app(config, clock=clock, passwords=fast_test_hasher(), database=database))
    )
    first = await api.client.get("/healthz")
    assert "Secure" in first.headers.getone("Set-Cookie") and CSRF_COOKIE in first.headers.getone("Set-Cookie")
    # Client cookie jars do not send Secure cookies over http: the test echoes them by hand.
    token = first.cookies[CSRF_COOKIE].value
    from tests.support.api import LEARNER_FIELDS

    signup = await api.client.post(
        "/api/auth/signup",
        json={**LEARNER_FIELDS, "email": "l@example.com"},
        headers={"X-CSRF-Token": token, "Cookie": f"{CSRF_COOKIE}={token}"},
    )
    assert signup.status == 201
    cookies = {c.split("=", 1)[0]: c for c in signup.headers.getall("Set-Cookie")}
    assert "Secure" in cookies[SESSION_COOKIE] and "HttpOnly" in cookies[SESSION_COOKIE]
    assert "Secure" in cookies[CSRF_COOKIE]
