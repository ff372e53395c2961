"""One suite for every EventBus: InProcessBus and RedisBus (real Redis) must behave alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from models.clock import ManualClock
from tests.integration.realtime.support import REDIS_URL, BusFactory, Recorder
from web.realtime.bus import BusUnavailable, HistoryPolicy
from web.realtime.redis_bus import RedisBus


async def eventually(predicate: Callable[[], bool], wait: float = 10.0) -> None:
    """Poll: a listener is told from the bus's reader task, which has no completion event."""
    for _ in range(int(wait / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_publish_assigns_growing_ids_in_order(bus_factory: BusFactory) -> None:
    bus = await bus_factory(HistoryPolicy(history_size=10))
    listener = Recorder()
    await bus.subscribe("sessions:room-a", listener)
    sent = [await bus.publish("sessions:room-a", "quality", {"n": n}) for n in range(5)]
    other = await bus.publish("sessions:room-b", "quality", {"n": 0})

    assert [env.id for env in sent] == [1, 2, 3, 4, 5]
    assert len({env.epoch for env in sent}) == 1
    assert other.id == 1, "ids grow per channel"
    assert await bus.position("sessions:room-a") == (sent[0].epoch, 5)
    await eventually(lambda: len(listener.events) == 5)
    assert [(env.id, env.data["n"]) for env in listener.events] == [(n + 1, n) for n in range(5)]
    assert listener.events[0].as_dict() == sent[0].as_dict()


async def test_position_of_an_unused_channel_is_zero_with_a_stable_epoch(bus_factory: BusFactory) -> None:
    bus = await bus_factory()
    first = await bus.position("notifications:7")
    assert first.id == 0
    envelope = await bus.publish("notifications:7", "reminder", {})
    assert (envelope.epoch, envelope.id) == (first.epoch, 1)


# The recovery table (Centrifugo's broker tests): in history, evicted, expired, epoch, too many.


async def test_recover_within_history_replays_in_order(bus_factory: BusFactory) -> None:
    bus = await bus_factory(HistoryPolicy(history_size=10))
    sent = [await bus.publish("c", "e", {"n": n}) for n in range(6)]
    recovered, replay = await bus.recover("c", 2, sent[0].epoch)
    assert recovered is True
    assert [env.id for env in replay] == [3, 4, 5, 6]
    assert [env.data["n"] for env in replay] == [2, 3, 4, 5]
    assert await bus.recover("c", 6, sent[0].epoch) == (True, [])


async def test_recover_from_an_evicted_offset_is_refused(bus_factory: BusFactory) -> None:
    bus = await bus_factory(HistoryPolicy(history_size=10))
    sent = [await bus.publish("c", "e", {"n": n}) for n in range(20)]
    assert await bus.recover("c", 8, sent[0].epoch) == (False, [])
    recovered, replay = await bus.recover("c", 10, sent[0].epoch)
    assert recovered is True
    assert [env.id for env in replay] == list(range(11, 21))


async def test_recover_from_an_expired_offset_is_refused(bus_factory: BusFactory, clock: ManualClock) -> None:
    bus = await bus_factory(HistoryPolicy(history_size=10, history_ttl_seconds=60))
    first = await bus.publish("c", "e", {})
    await bus.publish("c", "e", {})
    clock.advance(timedelta(seconds=61))
    await bus.publish("c", "e", {})
    assert await bus.recover("c", 0, first.epoch) == (False, [])
    assert await bus.recover("c", 1, first.epoch) == (False, [])
    recovered, replay = await bus.recover("c", 2, first.epoch)
    assert recovered is True
    assert [env.id for env in replay] == [3]


async def test_recover_with_another_epoch_is_refused(bus_factory: BusFactory) -> None:
    bus = await bus_factory()
    await bus.publish("c", "e", {})
    await bus.publish("c", "e", {})
    assert await bus.recover("c", 1, "not-the-epoch") == (False, [])


async def test_recover_too_many_is_refused(bus_factory: BusFactory) -> None:
    bus = await bus_factory(HistoryPolicy(history_size=50, max_replay=5))
    sent = [await bus.publish("c", "e", {}) for _ in range(10)]
    assert await bus.recover("c", 2, sent[0].epoch) == (False, [])
    recovered, replay = await bus.recover("c", 5, sent[0].epoch)
    assert recovered is True
    assert len(replay) == 5


async def test_recover_ahead_of_the_stream_is_refused(bus_factory: BusFactory) -> None:
    bus = await bus_factory()
    envelope = await bus.publish("c", "e", {})
    assert await bus.recover("c", 5, envelope.epoch) == (False, [])


async def test_unsubscribed_listener_hears_nothing(bus_factory: BusFactory) -> None:
    bus = await bus_factory()
    listener = Recorder()
    await bus.subscribe("c", listener)
    await bus.publish("c", "e", {"n": 1})
    await eventually(lambda: len(listener.events) == 1)
    await bus.unsubscribe("c", listener)
    await bus.publish("c", "e", {"n": 2})
    probe = Recorder()
    await bus.subscribe("c", probe)
    await bus.publish("c", "e", {"n": 3})
    await eventually(lambda: len(probe.events) == 1)
    assert [env.id for env in listener.events] == [1]


async def test_in_process_bus_is_a_new_epoch_per_instance(clock: ManualClock) -> None:
    from web.realtime.memory import InProcessBus

    before = await InProcessBus(clock=clock).publish("c", "e", {})
    after = InProcessBus(clock=clock)
    assert (await after.position("c")).epoch != before.epoch
    assert await after.recover("c", before.id, before.epoch) == (False, [])


# Redis only: several processes, lost history, outages.


@pytest.mark.redis
async def test_redis_delivers_across_instances_in_order(redis_bus_factory: BusFactory) -> None:
    publisher, web_a, web_b = [await redis_bus_factory() for _ in range(3)]
    heard_a, heard_b = Recorder(), Recorder()
    await web_a.subscribe("sessions:room-x", heard_a)
    await web_b.subscribe("sessions:room-x", heard_b)
    sent = [await publisher.publish("sessions:room-x", "learner.join", {"n": n}) for n in range(50)]
    await eventually(lambda: len(heard_a.events) == 50 and len(heard_b.events) == 50)
    assert [env.as_dict() for env in heard_a.events] == [env.as_dict() for env in sent]
    assert [env.id for env in heard_b.events] == list(range(1, 51))
    # History written by one process is replayed by another.
    recovered, replay = await web_b.recover("sessions:room-x", 45, sent[0].epoch)
    assert recovered and [env.id for env in replay] == [46, 47, 48, 49, 50]


@pytest.mark.redis
async def test_redis_flush_is_a_new_epoch(redis_bus_factory: BusFactory, redis_prefix: str) -> None:
    bus = await redis_bus_factory()
    before = await bus.publish("c", "e", {})
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        await client.delete(*keys)
    finally:
        await client.aclose()
    after = await bus.publish("c", "e", {})
    assert after.epoch != before.epoch
    assert after.id == 1
    assert await bus.recover("c", before.id, before.epoch) == (False, [])


@pytest.mark.redis
async def test_redis_reader_fills_the_gap_after_losing_its_connection(redis_bus_factory: BusFactory) -> None:
    name = "rt-gap-test"
    publisher, reader = await redis_bus_factory(), await redis_bus_factory(client_name=name)
    heard = Recorder()
    await reader.subscribe("c", heard)
    await publisher.publish("c", "e", {"n": 1})
    await eventually(lambda: len(heard.events) == 1)

    admin = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        clients = await admin.client_list(_type="pubsub")
        ids = [c["id"] for c in clients if c.get("name") == name]
        assert ids, "the reader's pub/sub connection is visible"
        for client_id in ids:
            await admin.client_kill_filter(_id=client_id)
    finally:
        await admin.aclose()
    for n in range(2, 6):
        await publisher.publish("c", "e", {"n": n})
    await eventually(lambda: len(heard.events) == 5)
    assert [env.id for env in heard.events] == [1, 2, 3, 4, 5]
    assert heard.lost == []


@pytest.mark.redis
async def test_redis_reader_reports_loss_beyond_history(redis_bus_factory: BusFactory) -> None:
    name = "rt-loss-test"
    policy = HistoryPolicy(history_size=3)
    publisher, reader = await redis_bus_factory(policy), await redis_bus_factory(policy, client_name=name)
    heard = Recorder()
    await reader.subscribe("c", heard)
    await publisher.publish("c", "e", {})
    await eventually(lambda: len(heard.events) == 1)
    admin = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        for c in await admin.client_list(_type="pubsub"):
            if c.get("name") == name:
                await admin.client_kill_filter(_id=c["id"])
    finally:
        await admin.aclose()
    for _ in range(10):
        await publisher.publish("c", "e", {})
    await eventually(lambda: bool(heard.lost))
    await publisher.publish("c", "e", {})
    await eventually(lambda: heard.events[-1].id == 12)
    channel, position = heard.lost[0]
    assert channel == "c" and position.id <= 11
    # Told of the loss, then every publication after the reported position, in order.
    ids = [env.id for env in heard.events]
    assert ids[0] == 1
    assert ids[1:] == list(range(position.id + 1, 13))


async def test_redis_outage_raises_a_clear_error() -> None:
    # Port 1 never runs Redis: this is what an outage looks like to the bus.
    bus = RedisBus.from_url("redis://127.0.0.1:1/0", reconnect_seconds=0.05)
    await bus.start()
    try:
        with pytest.raises(BusUnavailable, match="Redis unreachable"):
            await bus.publish("c", "e", {})
        with pytest.raises(BusUnavailable):
            await bus.ping()
        with pytest.raises(BusUnavailable):
            await bus.position("c")
    finally:
        await bus.close()
