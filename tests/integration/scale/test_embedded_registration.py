"""`serve` with Redis configured: its embedded node registers like any other and rooms are placed on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from media_server.registry import NodeRegistry
from models.clock import ManualClock
from tests.conftest import make_config
from tests.integration.scale.conftest import DEAD_AFTER, HEARTBEAT, SHARED_REDIS, _drop_prefix
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from web.config import Config

pytestmark = pytest.mark.redis
START = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path, scale_prefix: str) -> Config:
    return make_config(tmp_path, redis={"url": SHARED_REDIS},
                       web={"public_url": "http://mentor.example.com"},
                       media={"node_id": "web-1", "public_url": ""},
                       scale={"key_prefix": scale_prefix, "heartbeat_seconds": HEARTBEAT,
                              "dead_after_seconds": DEAD_AFTER})


async def test_embedded_node_registers_and_hosts_the_rooms(
    api: ApiClient, new_api: Callable[[], Any], clock: ManualClock, scale_prefix: str
) -> None:
    redis = Redis.from_url(SHARED_REDIS)
    registry = NodeRegistry(redis, scale_prefix)
    try:
        deadline = time.monotonic() + 10
        while not (nodes := await registry.nodes()):
            assert time.monotonic() < deadline, "the embedded node never registered"
            await asyncio.sleep(0.1)
        # Other web nodes send browsers to the site's /rtc; this one's own pages use their origin.
        assert [(n.id, n.url, n.state) for n in nodes] == [("web-1", "ws://mentor.example.com/rtc", "serving")]

        await sign_up(api, "mentor", "maya@example.com")
        session = await create_session(api)
        clock.set(START)
        await api.json("POST", f"/api/sessions/{session['id']}/go-live", 200)
        grant = await api.json("POST", f"/api/sessions/{session['id']}/join", 200)
        # The embedded node's URL is the site's own: the browser uses /rtc as before.
        assert grant["node"] == "web-1" and grant["rtc_url"] is None
        assert await registry.room_node(session["room_code"]) == "web-1"
    finally:
        await _drop_prefix(redis, scale_prefix)
        await redis.aclose()
