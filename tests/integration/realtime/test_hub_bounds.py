"""`/ws` limits a hostile client meets: bytes queued per socket and per process, short echoes,
signed-out sockets per address, canonical channel names."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from models.clock import ManualClock
from models.db import Database
from tests.integration.realtime.support import ClientFactory, People, build_app, receive_json
from web.realtime.hub import CLOSE_SLOW_CONSUMER, ECHO_LIMIT
from web.realtime.keys import BUS, HUB

Start = Callable[[web.Application], Awaitable[ClientFactory]]


async def test_error_replies_quote_at_most_200_characters_of_the_channel(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    client_for = await app_clients(build_app(db, clock))
    huge = "sessions:" + "x" * 60_000
    for user in (None, people.booked):
        ws = await (await client_for(user)).ws_connect("/ws")
        await ws.send_json({"type": "subscribe", "channel": huge})
        reply = await receive_json(ws)
        assert reply["error"] == ("unauthenticated" if user is None else "unknown channel")
        assert reply["channel"] == huge[:ECHO_LIMIT]
        await ws.send_json({"type": "subscribe", "channel": huge, "presence": "yes"})
        assert len((await receive_json(ws))["channel"]) == ECHO_LIMIT
        await ws.close()


async def test_channel_names_with_leading_zeros_are_unknown_not_aliases(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    client_for = await app_clients(build_app(db, clock))
    ws = await (await client_for(people.pending)).ws_connect("/ws")
    for alias in (
        f"notifications:0{people.pending.id}",
        f"notifications:00{people.pending.id}",
        f"sessions:0{people.session.id}",
    ):
        await ws.send_json({"type": "subscribe", "channel": alias})
        assert await receive_json(ws) == {"type": "error", "error": "unknown channel", "channel": alias}
    await ws.send_json({"type": "subscribe", "channel": f"notifications:{people.pending.id}"})
    assert (await receive_json(ws))["type"] == "subscribed"
    await ws.close()


async def test_signed_out_sockets_are_limited_per_address(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, max_anonymous_per_address=3)
    client_for = await app_clients(app)
    anonymous = await client_for(None)
    sockets = [await anonymous.ws_connect("/ws") for _ in range(3)]
    refused = await anonymous.get(
        "/ws",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert refused.status == 429
    assert await refused.json() == {"error": "too many signed-out connections from this address"}
    # Signed-in sockets from the same address are not counted against the signed-out limit.
    signed_in = await (await client_for(people.booked)).ws_connect("/ws")
    await signed_in.send_json({"type": "ping"})
    assert (await receive_json(signed_in)) == {"type": "pong"}
    # A closed socket frees its place.
    await sockets.pop().close()
    for _ in range(50):
        if app[HUB].connection_count == 3:
            break
        await asyncio.sleep(0.02)
    again = await anonymous.ws_connect("/ws")
    await again.send_json({"type": "ping"})
    assert (await receive_json(again)) == {"type": "pong"}
    assert app[HUB].anonymous_refusals == 1
    for ws in [*sockets, again, signed_in]:
        await ws.close()


async def test_a_reader_too_slow_is_dropped_by_bytes_long_before_the_message_count(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    limit = 256 * 1024
    app = build_app(db, clock, send_queue_size=100_000, send_queue_bytes=limit)
    client_for = await app_clients(app)
    channel = f"sessions:{people.session.id}"
    slow = await (await client_for(people.booked)).ws_connect("/ws")
    await slow.send_json({"type": "subscribe", "channel": channel})
    assert (await receive_json(slow))["type"] == "subscribed"
    hub = app[HUB]
    most_queued = published = 0
    # The client never reads: the kernel's socket buffers fill first, then the hub's queue.
    while not hub.slow_disconnects and published < 20_000:
        await app[BUS].publish(channel, "quality", {"pad": "x" * 8_000})
        published += 1
        most_queued = max(most_queued, hub.queued_bytes)
        await asyncio.sleep(0)
    assert hub.slow_disconnects == 1, f"still connected after {published} events of 8 kB"
    assert most_queued <= limit
    assert hub.queued_bytes == 0
    assert hub.connection_count == 0 and hub.subscriber_count(channel) == 0
    async with asyncio.timeout(10):
        while (await slow.receive()).type not in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        ):
            pass
    assert slow.close_code == CLOSE_SLOW_CONSUMER


async def test_the_process_wide_bound_drops_the_socket_furthest_behind(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    total = 512 * 1024
    app = build_app(db, clock, send_queue_size=100_000, send_queue_bytes=total, total_queue_bytes=total)
    client_for = await app_clients(app)
    channel = f"sessions:{people.session.id}"
    sockets = []
    for user in (people.booked, people.mentor):
        ws = await (await client_for(user)).ws_connect("/ws")
        await ws.send_json({"type": "subscribe", "channel": channel})
        assert (await receive_json(ws))["type"] == "subscribed"
        sockets.append(ws)
    hub = app[HUB]
    most_queued = published = 0
    while hub.slow_disconnects < 2 and published < 20_000:
        await app[BUS].publish(channel, "quality", {"pad": "y" * 8_000})
        published += 1
        most_queued = max(most_queued, hub.queued_bytes)
        await asyncio.sleep(0)
    # Together they never held more than the total, and both were dropped for it.
    assert hub.slow_disconnects == 2
    assert most_queued <= total
    assert hub.queued_bytes == 0
    for ws in sockets:
        await ws.close()


async def test_one_socket_follows_at_most_max_subscriptions_channels(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    client_for = await app_clients(build_app(db, clock, max_subscriptions=2))
    ws = await (await client_for(people.admin)).ws_connect("/ws")
    for channel in (f"requests:{people.mentor.id}", f"sessions:{people.session.id}"):
        await ws.send_json({"type": "subscribe", "channel": channel})
        assert (await receive_json(ws))["type"] == "subscribed"
    third = f"notifications:{people.pending.id}"
    await ws.send_json({"type": "subscribe", "channel": third})
    assert await receive_json(ws) == {"type": "error", "error": "too many subscriptions", "channel": third}
    await ws.send_json({"type": "unsubscribe", "channel": f"requests:{people.mentor.id}"})
    await ws.send_json({"type": "subscribe", "channel": third})
    assert (await receive_json(ws))["type"] == "subscribed"
    await ws.close()
