"""The /rtc endpoint and its test page on a loopback port, for headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from media_server import MediaNode, MediaSettings, sign_join_token
from web import keys
from web.config import load_config
from web.room.keys import MEDIA_NODE
from web.room.sfu import setup_rtc

SECRET = "sfu-browser-secret"


@pytest_asyncio.fixture(loop_scope="session")
async def sfu_site(tmp_path: Path) -> AsyncIterator[tuple[str, MediaNode, Callable[[str], str]]]:
    app = web.Application()
    app[keys.CONFIG] = load_config(environ={}, overrides={"media": {"ice_hosts": ["127.0.0.1"]}})
    app[keys.SECRET] = SECRET
    app[keys.METRICS] = []
    setup_rtc(app, settings=MediaSettings(ice_hosts=("127.0.0.1",), recordings_dir=tmp_path))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()

    def token(user: str) -> str:
        return sign_join_token(SECRET, user_id=user, name=user.title(), role="learner", room="browser-room",
                               node="local", record=False, ttl_seconds=300, now=datetime.now(UTC))

    try:
        yield str(server.make_url("")).rstrip("/"), app[MEDIA_NODE], token
    finally:
        await server.close()
