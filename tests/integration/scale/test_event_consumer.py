"""The web side of the node events stream: every event reaches the listeners, acknowledged after they ran;
one a dead web node left pending is taken over."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from media_server import ChatPosted, MediaNode, MediaSettings, NodeEvent, RoomEnded
from media_server.event_codec import encode
from media_server.registry import NodeRegistry
from tests.integration.scale.conftest import SHARED_REDIS, _drop_prefix
from web.room.allocation import GROUP, NodeEventConsumer

pytestmark = pytest.mark.redis


async def test_events_are_delivered_and_abandoned_ones_taken_over(scale_prefix: str) -> None:
    redis = Redis.from_url(SHARED_REDIS)
    registry = NodeRegistry(redis, scale_prefix)
    node = MediaNode(MediaSettings(), "secret")
    seen: list[NodeEvent] = []

    async def listener(event: NodeEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event)

    node.add_listener(listener)
    first = ChatPosted("r1", 1, "7", "Maya", "first", "2030-01-01T10:00:00+00:00")
    second = RoomEnded("r1", "ended_by_host")
    try:
        dead = NodeEventConsumer(registry, node, consumer="dead-web-node", claim_idle=0.5)
        await dead.ensure_group()
        await redis.xadd(registry.events_key, {"e": encode(first), "node": "n1"})
        # A web node that read the entry and died before acknowledging it.
        await redis.xreadgroup(GROUP, "dead-web-node", {registry.events_key: ">"}, count=10)
        await redis.xadd(registry.events_key, {"e": encode(second), "node": "n1"})
        await redis.xadd(registry.events_key, {"e": "not an event", "node": "n1"})
        alive = NodeEventConsumer(registry, node, consumer="live-web-node", claim_idle=0.5)
        running = asyncio.create_task(alive.run())
        deadline = time.monotonic() + 10
        while len(seen) < 2:
            assert time.monotonic() < deadline, f"delivered only {seen}"
            await asyncio.sleep(0.1)
        running.cancel()
        # Bounded: a cancel redis-py swallowed once left this await hanging (see media_server/cancellation.py).
        await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 10)
        assert sorted(seen, key=lambda e: type(e).__name__) == [first, second]
        pending = await redis.xpending(registry.events_key, GROUP)
        assert pending["pending"] == 0, "every entry, even the unreadable one, is acknowledged"
    finally:
        await _drop_prefix(redis, scale_prefix)
        await redis.aclose()
