"""A hung Redis (a private redis-server frozen with SIGSTOP) costs requests nothing: events wait in a
bounded queue and go out when it answers again; what had to be dropped makes resumes `recovered: false`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from models.clock import ManualClock
from models.db import Database
from tests.conftest import make_config
from tests.integration.realtime.support import ClientFactory, People, build_app, receive_json
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from tests.support.private_redis import PrivateRedis
from web.accounts.passwords import fast_test_hasher
from web.app import create_app
from web.realtime.breaker import CircuitBreaker
from web.realtime.bus import BusUnavailable
from web.realtime.guarded import GuardedBus
from web.realtime.keys import BUS, PUBLISHER
from web.realtime.outbox import Event, publish_committed
from web.realtime.redis_bus import RedisBus

pytestmark = pytest.mark.redis
Start = Callable[[web.Application], Awaitable[ClientFactory]]
# What the breaker and the per-call timeout are set to in the small-app tests: short, so they run fast.
QUICK = {"bus_timeout_seconds": 0.5, "breaker_failures": 2, "breaker_open_seconds": 0.3}


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    yield server
    server.close()


async def test_booking_and_go_live_answer_in_under_a_second_and_a_half_while_redis_is_stopped(
    tmp_path: Path,
    clock: ManualClock,
    database: Database,
    private_redis: PrivateRedis,
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    config = make_config(tmp_path, redis={"url": private_redis.url})
    app = create_app(config, clock=clock, passwords=fast_test_hasher(), database=database)
    mentor = ApiClient(await aiohttp_client(app))
    await sign_up(mentor, "mentor", "maya@example.com")
    sessions = [(await create_session(mentor, title=f"Resilient APIs {n}"))["id"] for n in range(3)]
    soon = (await create_session(mentor, title="Starting soon", start_at="2030-01-01T09:10:00Z"))["id"]
    learner = ApiClient(TestClient(mentor.client.server))
    await learner.client.start_server()
    await sign_up(learner, "learner", "lena@example.com")
    await learner.ensure_csrf()
    publisher = app[PUBLISHER]
    await asyncio.wait_for(publisher.flush(), 5)
    published_before = publisher.published

    private_redis.stop()
    latencies = []
    try:
        for session_id in sessions:
            started = time.perf_counter()
            response = await learner.post(f"/api/sessions/{session_id}/bookings")
            latencies.append(time.perf_counter() - started)
            assert response.status == 201, await response.text()
        started = time.perf_counter()
        response = await mentor.post(f"/api/sessions/{soon}/go-live")
        go_live = time.perf_counter() - started
        assert response.status == 200, await response.text()
        print(
            f"\nfree booking with Redis stopped: {', '.join(f'{x * 1000:.0f} ms' for x in latencies)}; "
            f"Go Live {go_live * 1000:.0f} ms"
        )
        assert max(latencies) < 1.5
        assert go_live < 1.5
        assert publisher.pending > 0, "the booking's events wait for Redis"
    finally:
        private_redis.resume()
    # Redis answers again: what waited goes out.
    await asyncio.wait_for(publisher.flush(), 15)
    assert publisher.published > published_before
    assert publisher.dropped == 0
    await learner.client.session.close()


async def test_events_wait_while_redis_is_stopped_and_arrive_in_order_when_it_returns(
    db: Database,
    clock: ManualClock,
    people: People,
    app_clients: Start,
    private_redis: PrivateRedis,
    redis_prefix: str,
) -> None:
    bus = RedisBus.from_url(private_redis.url, prefix=redis_prefix, clock=clock, reconnect_seconds=0.05)
    app = build_app(db, clock, bus, **QUICK)
    client_for = await app_clients(app)
    channel = f"sessions:{people.session.id}"
    ws = await (await client_for(people.booked)).ws_connect("/ws")
    await ws.send_json({"type": "subscribe", "channel": channel})
    assert (await receive_json(ws))["recovered"] is False

    private_redis.stop()
    try:
        started = time.perf_counter()
        for n in range(5):
            await publish_committed(app, [Event(channel, "session_updated", {"n": n})])
        assert time.perf_counter() - started < 0.1, "handing events over never waits for Redis"
        # A new subscription is refused quickly instead of hanging on the stopped server.
        other = await (await client_for(people.mentor)).ws_connect("/ws")
        started = time.perf_counter()
        await other.send_json({"type": "subscribe", "channel": f"requests:{people.mentor.id}"})
        refused = await receive_json(other, wait=5)
        assert refused["error"] == "realtime unavailable, retry later"
        assert time.perf_counter() - started < 1.5
        await asyncio.sleep(1.0)
        assert app[PUBLISHER].pending == 5
    finally:
        private_redis.resume()
    got = [(await receive_json(ws, wait=15))["data"]["n"] for _ in range(5)]
    assert got == [0, 1, 2, 3, 4]
    # A publish that timed out while Redis was stopped ran when it resumed; its retry is not a second event.
    await asyncio.wait_for(app[PUBLISHER].flush(), 5)
    assert (await app[BUS].position(channel)).id == 5
    with pytest.raises(TimeoutError):
        extra = await receive_json(ws, wait=1.5)
        print("unexpected", extra)
    await ws.close()
    await other.close()


async def test_events_past_the_bound_are_dropped_oldest_first_and_resumes_are_not_recovered(
    db: Database,
    clock: ManualClock,
    people: People,
    app_clients: Start,
    private_redis: PrivateRedis,
    redis_prefix: str,
) -> None:
    bus = RedisBus.from_url(private_redis.url, prefix=redis_prefix, clock=clock, reconnect_seconds=0.05)
    app = build_app(db, clock, bus, publish_queue_bytes=2_000, **QUICK)
    client_for = await app_clients(app)
    channel = f"sessions:{people.session.id}"
    await publish_committed(app, [Event(channel, "session_updated", {"n": -1})])
    await asyncio.wait_for(app[PUBLISHER].flush(), 5)
    live = await (await client_for(people.booked)).ws_connect("/ws")
    await live.send_json({"type": "subscribe", "channel": channel})
    seen = await receive_json(live)
    since = {"id": seen["id"], "epoch": seen["epoch"]}
    assert since["id"] == 1

    private_redis.stop()
    try:
        for n in range(50):
            await publish_committed(app, [Event(channel, "session_updated", {"n": n, "pad": "p" * 150})])
        publisher = app[PUBLISHER]
        assert publisher.queued_bytes <= 2_000
        assert publisher.dropped > 0 and publisher.pending + publisher.dropped == 50
    finally:
        private_redis.resume()
    await asyncio.wait_for(app[PUBLISHER].flush(), 15)
    # The live page hears that events were lost, then gets the newest ones that were kept.
    lost = await receive_json(live, wait=10)
    assert lost["type"] == "subscribed" and lost["recovered"] is False and lost["epoch"] != since["epoch"]
    tail = []
    while True:
        message = await receive_json(live, wait=10)
        tail.append(message["data"]["n"])
        if message["data"]["n"] == 49:
            break
    assert tail == list(range(50 - len(tail), 50)), "the newest events, in order"
    assert len(tail) == 50 - publisher.dropped
    # A page that was away resumes from before the loss: told to reload, not handed a gap.
    back = await (await client_for(people.mentor)).ws_connect("/ws")
    await back.send_json({"type": "subscribe", "channel": channel, "since": since})
    resumed = await receive_json(back)
    assert resumed["type"] == "subscribed" and resumed["recovered"] is False
    await live.close()
    await back.close()


async def test_a_publish_retried_after_a_timeout_is_not_a_second_copy(
    private_redis: PrivateRedis, redis_prefix: str, clock: ManualClock
) -> None:
    inner = RedisBus.from_url(private_redis.url, prefix=redis_prefix, clock=clock)
    bus = GuardedBus(inner, CircuitBreaker(failures=3, open_seconds=1.0), timeout=0.5)
    await bus.start()
    try:
        channel = "sessions:1"
        # Loads the script and leaves an idle connection: the next publish reaches the stopped server at once.
        await bus.publish(channel, "session_updated", {"n": 0}, key="first")
        private_redis.stop()
        try:
            with pytest.raises(BusUnavailable):
                await bus.publish(channel, "session_updated", {"n": 1}, key="second")
        finally:
            private_redis.resume()
        # The stopped server ran the timed-out publish when it resumed; the retry answers its id.
        retried = await bus.publish(channel, "session_updated", {"n": 1}, key="second")
        assert retried.id == 2
        assert (await bus.position(channel)).id == 2
        recovered, replay = await bus.recover(channel, 0, retried.epoch)
        assert recovered and [e.data["n"] for e in replay] == [0, 1]
    finally:
        await bus.close()
