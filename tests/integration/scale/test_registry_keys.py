"""The registry's room map on the real Redis: compare-and-set, release, and rooms placed but never opened."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from media_server.placement import DRAINING, NodeReport
from media_server.registry import NodeRegistry
from tests.integration.scale.conftest import SHARED_REDIS, _drop_prefix

pytestmark = pytest.mark.redis


async def test_room_map_changes_only_from_what_was_read(scale_prefix: str) -> None:
    redis = Redis.from_url(SHARED_REDIS)
    registry = NodeRegistry(redis, scale_prefix)
    try:
        for node_id in ("n1", "n2"):
            await registry.register(NodeReport(id=node_id, url=f"ws://{node_id}/rtc", last_heartbeat=time.time()), 60)
        assert await registry.cas_room("r1", "", "n1")
        assert not await registry.cas_room("r1", "", "n2"), "a second first placement loses"
        assert not await registry.cas_room("r1", "n2", "n2"), "a move from a stale read loses"
        assert await registry.cas_room("r1", "n1", "n2")
        rooms = {n.id: n.rooms for n in await registry.nodes()}
        assert rooms == {"n1": 0, "n2": 1}, "the room counts on its new node only"
        assert not await registry.release_room("r1", "n1"), "only the room's node releases it"
        assert await registry.release_room("r1", "n2") and await registry.room_node("r1") is None

        # A placement nobody opened: released by its node after the grace; a live room stays.
        assert await registry.cas_room("ghost", "", "n1") and await registry.cas_room("live", "", "n1")
        assert await registry.release_unopened("n1", {"live"}, time.time() - 60) == []
        assert await registry.release_unopened("n1", {"live"}, time.time() + 1) == ["ghost"]
        assert await registry.room_node("ghost") is None and await registry.room_node("live") == "n1"

        # An operator's drain sticks through heartbeats; a restart registers as serving again.
        assert await registry.set_state("n1", DRAINING)
        report = NodeReport(id="n1", url="ws://n1/rtc", last_heartbeat=time.time())
        assert await registry.heartbeat(report, 60) == DRAINING
        await registry.register(report, 60)
        assert {n.id: n.state for n in await registry.nodes()}["n1"] == "serving"
        assert not await registry.set_state("missing", DRAINING)
    finally:
        await _drop_prefix(redis, scale_prefix)
        await redis.aclose()
