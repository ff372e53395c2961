"""Persisted notifications: rows in the caller's transaction, events after commit, the bell's API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select

from models.clock import ManualClock
from models.db import Database
from models.tables import Notification
from tests.integration.realtime.support import (
    BOTH_DATABASES,
    BusFactory,
    ClientFactory,
    People,
    build_app,
    receive_json,
)
from web.realtime.keys import BUS
from web.realtime.notifications import add_notification, publish_notifications
from web.realtime.redis_bus import RedisBus

Start = Callable[[web.Application], Awaitable[ClientFactory]]


async def test_signed_out_gets_401(db: Database, clock: ManualClock, app_clients: Start) -> None:
    client = await (await app_clients(build_app(db, clock)))(None)
    listed = await client.get("/api/notifications")
    assert listed.status == 401 and "error" in await listed.json()
    marked = await client.post("/api/notifications/read", json={})
    assert marked.status == 401 and "error" in await marked.json()


@BOTH_DATABASES
async def test_notify_after_commit_pushes_and_lists(
    bus_factory: BusFactory, db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    app = build_app(db, clock, bus=await bus_factory())
    client = await (await app_clients(app))(people.booked)
    user_id = people.booked.id
    assert user_id is not None
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "subscribe", "channel": f"notifications:{user_id}"})
        assert (await receive_json(ws))["type"] == "subscribed"

        notes = []
        async with db.session() as session:
            for n in range(3):
                clock.advance(timedelta(minutes=1))
                notes.append(
                    await add_notification(
                        session,
                        clock,
                        user_id=user_id,
                        kind="booking_confirmed",
                        title=f"Booking {n} confirmed",
                        body="Async Python",
                        data={"session_id": people.session.id},
                    )
                )
            await session.commit()
        published = await publish_notifications(app[BUS], notes)
        assert len(published) == 3
        events = [await receive_json(ws) for _ in range(3)]
    assert [e["event"] for e in events] == ["booking_confirmed"] * 3
    assert events[0]["channel"] == f"notifications:{user_id}"
    assert events[0]["data"]["title"] == "Booking 0 confirmed"
    assert events[0]["data"]["id"] == notes[0].id and events[0]["data"]["read"] is False

    listed = await (await client.get("/api/notifications")).json()
    assert listed["unread"] == 3
    assert [n["title"] for n in listed["notifications"]] == [f"Booking {n} confirmed" for n in (2, 1, 0)]

    marked = await client.post("/api/notifications/read", json={"ids": [notes[0].id]})
    assert (await marked.json()) == {"updated": 1, "unread": 2}
    marked = await client.post("/api/notifications/read", json={})
    assert (await marked.json()) == {"updated": 2, "unread": 0}
    listed = await (await client.get("/api/notifications")).json()
    assert all(n["read"] for n in listed["notifications"])


async def test_rolled_back_notification_is_neither_stored_nor_published(
    db: Database, clock: ManualClock, people: People
) -> None:
    assert people.booked.id is not None
    async with db.session() as session:
        await add_notification(session, clock, user_id=people.booked.id, kind="reminder", title="Soon")
        await session.rollback()
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 0


@BOTH_DATABASES
async def test_users_only_see_and_mark_their_own(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    client_for = await app_clients(build_app(db, clock))
    assert people.mentor.id is not None
    async with db.session() as session:
        theirs = await add_notification(session, clock, user_id=people.mentor.id, kind="new_booking", title="New")
        await session.commit()
    other = await client_for(people.stranger)
    assert (await (await other.get("/api/notifications")).json()) == {"notifications": [], "unread": 0}
    marked = await other.post("/api/notifications/read", json={"ids": [theirs.id]})
    assert (await marked.json())["updated"] == 0
    bad = await other.post("/api/notifications/read", json={"ids": ["1"]})
    assert bad.status == 400
    mentor = await client_for(people.mentor)
    assert (await (await mentor.get("/api/notifications")).json())["unread"] == 1


@BOTH_DATABASES
async def test_list_is_capped_at_fifty_newest(
    db: Database, clock: ManualClock, people: People, app_clients: Start
) -> None:
    assert people.admin.id is not None
    async with db.session() as session:
        for n in range(60):
            clock.advance(timedelta(seconds=1))
            await add_notification(session, clock, user_id=people.admin.id, kind="reminder", title=str(n))
        await session.commit()
    client = await (await app_clients(build_app(db, clock)))(people.admin)
    listed = await (await client.get("/api/notifications")).json()
    assert listed["unread"] == 60
    assert len(listed["notifications"]) == 50
    assert listed["notifications"][0]["title"] == "59"


async def test_publish_during_a_redis_outage_keeps_the_row(db: Database, clock: ManualClock, people: People) -> None:
    bus = RedisBus.from_url("redis://127.0.0.1:1/0")
    assert people.booked.id is not None
    try:
        async with db.session() as session:
            note = await add_notification(session, clock, user_id=people.booked.id, kind="reminder", title="Soon")
            await session.commit()
        assert await publish_notifications(bus, [note]) == []
    finally:
        await bus.close()
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 1
