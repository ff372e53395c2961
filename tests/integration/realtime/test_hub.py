"""`/ws` through a real aiohttp server: authorization, delivery, resume, slow readers, limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from models.clock import ManualClock
from models.db import Database
from tests.integration.realtime.support import (
    BOTH_DATABASES,
    BusFactory,
    ClientFactory,
    People,
    build_app,
    receive_json,
)
from web.realtime.bus import HistoryPolicy
from web.realtime.hub import CLOSE_SLOW_CONSUMER
from web.realtime.keys import BUS, HUB
from web.realtime.redis_bus import RedisBus

Start = Callable[[web.Application], Awaitable[ClientFactory]]


async def subscribe(ws: aiohttp.ClientWebSocketResponse, channel: str, **since: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if since:
        message["since"] = since
    await ws.send_json(message)
    return await receive_json(ws)


def channel_for(kind: str, people: People) -> str:
    return {
        "requests": f"requests:{people.mentor.id}",
        "responses": f"responses:{people.booked.id}",
        "notifications": f"notifications:{people.pending.id}",
        "session_id": f"sessions:{people.session.id}",
        "room_code": f"sessions:{people.session.room_code}",
    }[kind]


ALLOWED = {
    "requests": {"mentor", "admin"},
    "responses": {"booked", "admin"},
    "notifications": {"pending", "admin"},
    "session_id": {"mentor", "booked", "admin"},
    "room_code": {"mentor", "booked", "admin"},
}


@BOTH_DATABASES
async def test_subscribe_authorization_for_every_channel_kind(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    client_for = await app_clients(build_app(db, clock))
    for who in ("mentor", "booked", "pending", "stranger", "admin"):
        client = await client_for(getattr(people, who))
        async with client.ws_connect("/ws") as ws:
            for kind, allowed in ALLOWED.items():
                channel = channel_for(kind, people)
                reply = await subscribe(ws, channel)
                if who in allowed:
                    assert reply["type"] == "subscribed", (who, channel, reply)
                    assert reply["channel"] == channel and reply["recovered"] is False
                else:
                    assert reply == {"type": "error", "error": "forbidden", "channel": channel}, (who, reply)


async def test_unknown_session_unknown_channel_and_signed_out(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    client_for = await app_clients(build_app(db, clock))
    async with (await client_for(people.mentor)).ws_connect("/ws") as ws:
        assert (await subscribe(ws, "sessions:999"))["error"] == "forbidden"
        assert (await subscribe(ws, "sessions:no-such-room"))["error"] == "forbidden"
        assert (await subscribe(ws, "chat:1"))["error"] == "unknown channel"
        assert (await subscribe(ws, "requests:abc"))["error"] == "unknown channel"
    async with (await client_for(None)).ws_connect("/ws") as ws:
        reply = await subscribe(ws, f"notifications:{people.mentor.id}")
        assert reply == {"type": "error", "error": "unauthenticated", "channel": f"notifications:{people.mentor.id}"}
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}


async def test_bad_messages_get_an_error_and_keep_the_socket(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    client_for = await app_clients(build_app(db, clock))
    async with (await client_for(people.mentor)).ws_connect("/ws") as ws:
        await ws.send_str("not json")
        assert (await receive_json(ws))["type"] == "error"
        await ws.send_json({"type": "dance"})
        assert (await receive_json(ws))["error"] == "unknown message"
        channel = f"requests:{people.mentor.id}"
        assert (await subscribe(ws, channel, id="x", epoch=1))["type"] == "error"
        assert (await subscribe(ws, channel))["type"] == "subscribed"
        assert (await subscribe(ws, channel))["error"] == "already subscribed"
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}


async def test_events_reach_subscribers_and_stop_after_unsubscribe(
    bus_factory: BusFactory, db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, bus=await bus_factory())
    client_for = await app_clients(app)
    channel = f"sessions:{people.session.room_code}"
    async with (await client_for(people.booked)).ws_connect("/ws") as ws:
        await subscribe(ws, channel)
        sent = await app[BUS].publish(channel, "session.live", {"room": "room-abc"})
        event = await receive_json(ws)
        assert event == {"type": "event", **sent.as_dict()}
        assert set(event) == {"type", "channel", "event", "data", "id", "ts", "epoch"}

        await ws.send_json({"type": "unsubscribe", "channel": channel})
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
        await app[BUS].publish(channel, "session.end", {})
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}, "nothing arrives after unsubscribe"
        assert app[HUB].subscriber_count(channel) == 0


async def test_reconnect_with_since_receives_missed_events_in_order(
    bus_factory: BusFactory, db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, bus=await bus_factory(HistoryPolicy(history_size=10)))
    client_for = await app_clients(app)
    client = await client_for(people.mentor)
    channel = f"requests:{people.mentor.id}"
    async with client.ws_connect("/ws") as ws:
        await subscribe(ws, channel)
        await app[BUS].publish(channel, "new_booking", {"n": 1})
        last = await receive_json(ws)
    for n in range(2, 5):
        await app[BUS].publish(channel, "new_booking", {"n": n})

    async with client.ws_connect("/ws") as ws:
        reply = await subscribe(ws, channel, id=last["id"], epoch=last["epoch"])
        assert reply == {"type": "subscribed", "channel": channel, "recovered": True, "epoch": last["epoch"], "id": 4}
        missed = [await receive_json(ws) for _ in range(3)]
        assert [(m["id"], m["data"]["n"]) for m in missed] == [(2, 2), (3, 3), (4, 4)]
        await app[BUS].publish(channel, "live_request", {"n": 5})
        assert (await receive_json(ws))["id"] == 5


async def test_reconnect_beyond_history_is_told_recovered_false(
    bus_factory: BusFactory, db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, bus=await bus_factory(HistoryPolicy(history_size=10)))
    client_for = await app_clients(app)
    channel = f"responses:{people.booked.id}"
    first = await app[BUS].publish(channel, "booking_confirmed", {})
    for _ in range(19):
        await app[BUS].publish(channel, "booking_confirmed", {})
    async with (await client_for(people.booked)).ws_connect("/ws") as ws:
        reply = await subscribe(ws, channel, id=first.id, epoch=first.epoch)
        assert reply == {"type": "subscribed", "channel": channel, "recovered": False, "epoch": first.epoch, "id": 20}
        reply = await subscribe(ws, f"notifications:{people.booked.id}", id=3, epoch="stale")
        assert reply["recovered"] is False and reply["id"] == 0
        await app[BUS].publish(channel, "request_accepted", {})
        assert (await receive_json(ws))["id"] == 21, "live events follow the reset position"


async def test_slow_reader_is_dropped_while_fast_reader_gets_everything(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, send_queue_size=8, max_message_bytes=65536)
    client_for = await app_clients(app)
    channel = f"sessions:{people.session.id}"
    fast_client, slow_client = await client_for(people.mentor), await client_for(people.booked)
    fast = await fast_client.ws_connect("/ws")
    slow = await slow_client.ws_connect("/ws")
    await subscribe(fast, channel)
    await subscribe(slow, channel)
    total, payload = 400, "x" * 32_000
    received: list[int] = []

    async def read_fast() -> None:
        while len(received) < total:
            received.append((await receive_json(fast))["id"])

    reader = asyncio.create_task(read_fast())
    slowest_publish = 0.0
    published = 0

    async def publish() -> None:
        nonlocal slowest_publish, published
        started = time.perf_counter()
        await app[BUS].publish(channel, "quality", {"pad": payload})
        slowest_publish = max(slowest_publish, time.perf_counter() - started)
        published += 1

    overflowed = False
    while published < total:
        await publish()
        if app[HUB].slow_disconnects and not overflowed:
            overflowed = True
            # More events before the close task can run: the dropped socket must already be
            # off the channel, so it is neither counted twice nor sent anything more.
            for _ in range(3):
                await publish()
        # Yield so the fast reader's writer task can keep up, as a real event loop would.
        await asyncio.sleep(0)
    await asyncio.wait_for(reader, 20)

    assert overflowed
    assert received == list(range(1, total + 1))
    # A blocked publish would wait for the slow socket forever; the margin is for a busy CI box.
    assert slowest_publish < 0.25, f"a publish waited {slowest_publish:.3f}s"
    assert app[HUB].slow_disconnects == 1
    assert app[HUB].subscriber_count(channel) == 1
    assert app[HUB].connection_count == 1
    # Reading at last, the slow client finds the close code after what it had buffered.
    async with asyncio.timeout(10):
        while True:
            message = await slow.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert slow.close_code == CLOSE_SLOW_CONSUMER
    await fast.close()


async def test_oversized_message_closes_with_1009(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, max_message_bytes=1024)
    client_for = await app_clients(app)
    async with (await client_for(people.mentor)).ws_connect("/ws") as ws:
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
        await ws.send_str('{"type": "ping", "pad": "' + "x" * 2048 + '"}')
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert app[HUB].connection_count == 0


@pytest.mark.redis
async def test_hub_keeps_serving_when_redis_is_down(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    bus = RedisBus.from_url("redis://127.0.0.1:1/0", reconnect_seconds=0.05)
    app = build_app(db, clock, bus=bus)
    client_for = await app_clients(app)
    async with (await client_for(people.mentor)).ws_connect("/ws") as ws:
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
        reply = await subscribe(ws, f"requests:{people.mentor.id}")
        assert reply["type"] == "error" and "unavailable" in reply["error"]
        await ws.send_json({"type": "ping"})
        assert await receive_json(ws) == {"type": "pong"}
    assert app[HUB].subscriber_count(f"requests:{people.mentor.id}") == 0


@pytest.mark.redis
async def test_event_published_by_another_process_reaches_the_socket(
    redis_bus_factory: BusFactory, db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, bus=await redis_bus_factory())
    worker_bus = await redis_bus_factory()
    client_for = await app_clients(app)
    channel = f"notifications:{people.stranger.id}"
    async with (await client_for(people.stranger)).ws_connect("/ws") as ws:
        await subscribe(ws, channel)
        sent = await worker_bus.publish(channel, "reminder", {"in_minutes": 30})
        assert await receive_json(ws) == {"type": "event", **sent.as_dict()}


async def test_shutdown_closes_open_sockets_with_1001(
    db: Database, clock: ManualClock, people: People, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    server = await aiohttp_server(build_app(db, clock))
    client = await aiohttp_client(server)
    await client.post("/test/login", json={"uid": people.mentor.id, "role": people.mentor.role})
    ws = await client.ws_connect("/ws")
    await subscribe(ws, f"requests:{people.mentor.id}")
    started = time.perf_counter()
    await server.close()
    assert time.perf_counter() - started < 5, "an open socket must not hold the graceful stop"
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == aiohttp.WSCloseCode.GOING_AWAY
