"""Media nodes as processes: registration, spreading rooms, full nodes, `mentorlive nodes`, `--processes N`,
and a Redis outage the nodes ride out."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from media_server import sign_join_token
from media_server.placement import Limits, NoNodeAvailable
from media_server.redis_placement import RedisPlacement
from media_server.registry import NodeRegistry
from media_server.testing.client import SfuClient
from media_server.testing.synthetic import ClipTrack, encode_vp8_clip
from tests.integration.scale.conftest import DEAD_AFTER, SECRET, Cluster, PrivateRedis
from web.config import PROJECT_ROOT

# Real node processes start slowly on a loaded 2-core machine.
pytestmark = [pytest.mark.redis, pytest.mark.timeout(300)]
NODE_KEYS = {"id", "state", "url", "rooms", "participants", "last_heartbeat", "streams", "cpu"}


def cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=PROJECT_ROOT, env=cluster.env(),
                          capture_output=True, timeout=60)


def nodes_json(cluster: Cluster) -> list[dict[str, object]]:
    done = cli(cluster, "nodes", "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


async def test_four_rooms_spread_over_two_nodes_and_a_full_node_is_skipped(cluster: Cluster) -> None:
    found = await cluster.launch("node-a", "node-b")
    assert {n.url for n in found.values()} == {node.url for node in cluster.nodes}
    assert all(url.startswith("ws://127.0.0.1:") and url.endswith("/rtc") for url in (n.url for n in found.values()))
    placement = RedisPlacement(cluster.registry, Limits(dead_after=DEAD_AFTER))
    placed = {code: await placement.place(code) for code in ("r1", "r2", "r3", "r4")}
    assert Counter(p.node_id for p in placed.values()) == {"node-a": 2, "node-b": 2}
    # A room keeps its node: everyone of a room meets on one node.
    assert await placement.place("r3") == placed["r3"]
    assert placed["r3"].url == found[placed["r3"].node_id].url

    rows = nodes_json(cluster)
    assert {row["id"] for row in rows} == {"node-a", "node-b"}
    for row in rows:
        assert NODE_KEYS <= row.keys()
        assert row["state"] == "serving" and row["rooms"] == 2 and row["participants"] == 0
        assert isinstance(row["last_heartbeat"], float) and abs(row["last_heartbeat"] - time.time()) < 5

    three = RedisPlacement(cluster.registry, Limits(max_rooms=3, dead_after=DEAD_AFTER))
    fifth = await three.place("r5")
    sixth = await three.place("r6")
    assert {fifth.node_id, sixth.node_id} == {"node-a", "node-b"}, "the full node is skipped"
    with pytest.raises(NoNodeAvailable):
        await three.place("r7")


async def test_processes_two_registers_two_nodes_and_sigterm_drains_both(cluster: Cluster) -> None:
    parent = cluster.start("multi", "--processes", "2")
    found = await cluster.wait_registered("multi-1", "multi-2")
    assert len({n.pid for n in found.values()}) == 2 and parent.process.pid not in {n.pid for n in found.values()}
    assert len({n.url for n in found.values()}) == 2
    # An operator's drain of one process: it is listed as draining, then (no rooms) exits and deregisters.
    drained = await asyncio.to_thread(cli, cluster, "media-node", "drain", "multi-1")
    assert drained.returncode == 0, drained.stderr
    assert b"multi-1 is draining" in drained.stdout
    deadline = time.monotonic() + 45
    while "multi-1" in {n.id for n in await cluster.registry.nodes()}:
        assert time.monotonic() < deadline, "the drained node did not leave"
        await asyncio.sleep(0.2)
    assert [n.state for n in await cluster.registry.nodes()] == ["serving"]
    unknown = await asyncio.to_thread(cli, cluster, "media-node", "drain", "nope")
    assert unknown.returncode == 1 and b"no media node 'nope'" in unknown.stderr
    parent.process.send_signal(signal.SIGTERM)
    # No rooms: the drain ends at once and both deregister on their way out.
    assert await asyncio.to_thread(parent.process.wait, 60) == 0
    assert [n.id for n in await cluster.registry.nodes()] == []


async def _readyz(session: aiohttp.ClientSession, ws_url: str) -> int:
    url = ws_url.replace("ws://", "http://").removesuffix("/rtc") + "/readyz"
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def _until(check, within: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


@pytest.mark.media
async def test_rooms_keep_flowing_through_a_redis_outage(cluster: Cluster, private_redis: PrivateRedis) -> None:
    cluster.redis_url = private_redis.url
    redis = Redis.from_url(private_redis.url, socket_timeout=2)
    registry = NodeRegistry(redis, cluster.prefix)
    cluster.registry = registry
    clients: list[SfuClient] = []
    try:
        found = await cluster.launch("node-a", "node-b")
        placement = RedisPlacement(registry, Limits(dead_after=DEAD_AFTER))
        where = await placement.place("lesson")
        url = found[where.node_id].url
        now = datetime.now(UTC)

        def token(user: str, role: str) -> str:
            return sign_join_token(SECRET, user_id=user, name=user, role=role, room="lesson", node=where.node_id,
                                   url=url, record=False, ttl_seconds=600, now=now)

        camera = ClipTrack("video", encode_vp8_clip(90), fps=30, clock_rate=90000)
        mentor, learner = SfuClient(url, token("1", "mentor")), SfuClient(url, token("2", "learner"))
        clients += [mentor, learner]
        await mentor.connect({"camera": camera})
        await learner.connect()
        await learner.wait_until(lambda: any(r.count > 10 for r in learner.received.values()), within=15)

        async with aiohttp.ClientSession() as http:
            assert await _readyz(http, url) == 200
            private_redis.pause()
            paused_at = time.monotonic()
            before = sum(r.count for r in learner.received.values())
            await _until(lambda: _is(http, url, 503), within=8)
            await asyncio.sleep(max(0.0, 10.0 - (time.monotonic() - paused_at)))
            during = sum(r.count for r in learner.received.values())
            assert during - before > 100, "frames kept flowing while Redis was stopped"
            # What happens meanwhile waits in the node's outbox for Redis.
            await learner.send({"type": "chat", "text": "said during the outage"})
            await learner.wait_for("chat")
            # A web node cannot place rooms meanwhile: it gets an error, never a guess.
            with pytest.raises(Exception):  # noqa: B017 - a timeout or a connection error, both refuse
                await asyncio.wait_for(placement.place("another"), timeout=5)
            private_redis.resume()
            await _until(lambda: _is(http, url, 200), within=10)
            await _until(lambda: _is(http, found["node-a" if where.node_id == "node-b" else "node-b"].url, 200),
                         within=10)
        after = sum(r.count for r in learner.received.values())
        await asyncio.sleep(1.0)
        assert sum(r.count for r in learner.received.values()) > after, "still flowing after the outage"
        # The node's buffered events reached the stream once Redis was back.
        async def chat_delivered() -> bool:
            entries: Any = await redis.xrange(registry.events_key)
            return any(b"said during the outage" in fields[b"e"] for _id, fields in entries)

        await _until(chat_delivered, within=10)
        # No double allocation: racing web nodes all land on the room's one node.
        racers = [RedisPlacement(registry, Limits(dead_after=DEAD_AFTER)) for _ in range(6)]
        again = await asyncio.gather(*(r.place("lesson") for r in racers))
        assert {p.node_id for p in again} == {where.node_id}
        fresh = await asyncio.gather(*(r.place("new-room") for r in racers))
        assert len({p.node_id for p in fresh}) == 1
        reports = {n.id: n for n in await registry.nodes()}
        assert reports[where.node_id].rooms >= 1 and reports[where.node_id].participants == 2
    finally:
        for client in clients:
            await client.close()
        cluster.stop_all()
        await redis.aclose()


async def _is(http: aiohttp.ClientSession, url: str, status: int) -> bool:
    return await _readyz(http, url) == status


@pytest.mark.media
async def test_drain_command_moves_a_live_room_to_the_other_node_process(cluster: Cluster) -> None:
    found = await cluster.launch("node-a", "node-b")
    placement = RedisPlacement(cluster.registry, Limits(dead_after=DEAD_AFTER))
    where = await placement.place("lesson")
    other = "node-b" if where.node_id == "node-a" else "node-a"
    url, now = found[where.node_id].url, datetime.now(UTC)

    def token(user: str, role: str) -> str:
        return sign_join_token(SECRET, user_id=user, name=user, role=role, room="lesson", node=where.node_id,
                               url=url, record=False, ttl_seconds=600, now=now)

    camera = ClipTrack("video", encode_vp8_clip(90), fps=30, clock_rate=90000)
    mentor, learner = SfuClient(url, token("1", "mentor")), SfuClient(url, token("2", "learner"))
    try:
        await mentor.connect({"camera": camera})
        await learner.connect()
        await learner.wait_until(lambda: any(r.count > 10 for r in learner.received.values()), within=15)
        drained = await asyncio.to_thread(cli, cluster, "media-node", "drain", where.node_id)
        assert drained.returncode == 0, drained.stderr

        async def moved() -> bool:
            return await cluster.registry.room_node("lesson") == other

        await _until(moved, within=30)
        before = sum(r.count for r in learner.received.values())
        await learner.wait_until(lambda: sum(r.count for r in learner.received.values()) > before + 30, within=20)
        source = next(n for n in cluster.nodes if n.node_id == where.node_id)
        assert await asyncio.to_thread(source.process.wait, 60) == 0, "the drained node exits once empty"
        reports = {n.id: n for n in await cluster.registry.nodes()}
        assert list(reports) == [other] and reports[other].participants == 2
    finally:
        await mentor.close()
        await learner.close()
