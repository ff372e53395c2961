"""Open redirects through `next`, and WebSockets opened from another site (CSWSH)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.api import ApiClient, sign_up

# Browsers drop tabs and newlines from URLs, so "/\t/evil.example" is followed as "//evil.example".
SNEAKY_NEXTS = ["/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/", "/ /evil.example/"]


@pytest.mark.parametrize("next_url", SNEAKY_NEXTS)
async def test_login_next_with_control_characters_lands_on_the_dashboard(api: ApiClient, next_url: str) -> None:
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    body = await api.json("POST", "/api/auth/login", 200,
                          json={"email": "l@example.com", "password": "learn1234", "next": next_url})
    assert body["redirect"] == "/dashboard/learner"


async def test_login_next_with_a_nul_is_refused_naming_next(api: ApiClient) -> None:
    # NUL is refused in every text field (web/http/body.py), so no redirect is computed from it at all.
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    body = await api.json("POST", "/api/auth/login", 400,
                          json={"email": "l@example.com", "password": "learn1234", "next": "/\x00/x"})
    assert body["field"] == "next"


async def test_signup_next_with_a_tab_lands_on_the_dashboard(api: ApiClient) -> None:
    body = await sign_up(api, "learner", "l@example.com", next="/\t/evil.example/")
    assert body["redirect"] == "/dashboard/learner"


async def test_login_page_never_redirects_a_signed_in_user_off_site(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    response = await api.client.get("/login", params={"next": "/\t/evil.example/"}, allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/dashboard/learner"


async def test_plain_same_site_next_still_works(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    await api.post("/api/auth/logout")
    body = await api.json("POST", "/api/auth/login", 200,
                          json={"email": "l@example.com", "password": "learn1234", "next": "/dashboard/learner?book=3"})
    assert body["redirect"] == "/dashboard/learner?book=3"


def _own_origin(api: ApiClient) -> str:
    server = api.client.server
    return f"http://{server.host}:{server.port}"


@pytest.mark.parametrize("path", ["/ws", "/rtc?token=x"])
async def test_websockets_refuse_a_cross_site_origin(api: ApiClient, path: str) -> None:
    await sign_up(api, "learner", "l@example.com")
    for origin in ("http://evil.example", "null", f"http://{api.client.server.host}:1"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await api.client.ws_connect(path, headers={"Origin": origin})
        assert refused.value.status == 403


async def test_ws_accepts_same_origin_and_clients_without_origin(api: ApiClient) -> None:
    user = await sign_up(api, "learner", "l@example.com")
    channel = f"notifications:{user['user']['id']}"
    for headers in ({"Origin": _own_origin(api)}, {}):
        async with api.client.ws_connect("/ws", headers=headers) as ws:
            await ws.send_json({"type": "subscribe", "channel": channel})
            reply = await ws.receive_json(timeout=5)
            assert reply["type"] == "subscribed", reply


async def test_rtc_same_origin_reaches_the_token_check(api: ApiClient) -> None:
    async with api.client.ws_connect("/rtc?token=bad", headers={"Origin": _own_origin(api)}) as ws:
        reply = await ws.receive_json(timeout=5)
    assert reply["type"] == "error"


async def test_pages_cannot_be_framed_by_other_sites(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    for path in ("/", "/dashboard/mentor", "/api/me", "/static/app.js"):
        response = await api.get(path)
        assert response.status == 200, path
        assert response.headers.get("X-Frame-Options") == "SAMEORIGIN", path
        assert "frame-ancestors 'self'" in response.headers.get("Content-Security-Policy", ""), path
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
