"""The lobby: learners with the room page open are announced to the mentor, whether media started or not."""

from __future__ import annotations

import asyncio

from sqlalchemy import update
from sqlmodel import col

from models.tables import Booking
from tests.integration.room.conftest import LEAVE_GRACE, Room, eventually
from web.keys import DB
from web.realtime.keys import HUB


async def test_a_learner_opening_the_room_is_announced_and_closing_it_is_too(room: Room, open_tab) -> None:
    mentor_tab = await open_tab(room.mentor, room.channel)
    learner_tab = await open_tab(room.learner, room.channel)
    learner = {"user_id": room.ids["learner"], "name": "Lena Learner"}

    await eventually(lambda: mentor_tab.events == [("learner.join", learner)])
    lobby = await room.mentor.json("GET", f"/api/sessions/{room.session_id}/lobby", 200)
    assert lobby == {"waiting": [learner], "status": "scheduled", "started_at": None, "ended_at": None}

    await learner_tab.close()
    await eventually(lambda: mentor_tab.names() == ["learner.join", "learner.leave"])
    assert mentor_tab.events[-1] == ("learner.leave", learner)
    assert (await room.mentor.json("GET", f"/api/sessions/{room.session_id}/lobby", 200))["waiting"] == []


async def test_the_mentor_and_an_admin_are_never_waiting_learners(live_room: Room, open_tab) -> None:
    room = live_room
    watcher = await open_tab(room.learner, room.channel, presence=False)
    await open_tab(room.mentor, room.channel)
    admin_tab = await open_tab(room.admin, room.channel)
    await asyncio.sleep(0.2)
    await admin_tab.close()
    await asyncio.sleep(LEAVE_GRACE + 0.2)

    assert watcher.events == []
    lobby = await room.admin.json("GET", f"/api/sessions/{room.session_id}/lobby", 200)
    assert lobby["waiting"] == [] and lobby["status"] == "live" and lobby["started_at"] == "2030-01-01T10:00:00Z"


async def test_two_tabs_are_one_join_and_the_leave_waits_for_the_last(room: Room, open_tab) -> None:
    mentor_tab = await open_tab(room.mentor, room.channel)
    first = await open_tab(room.learner, room.channel)
    second = await open_tab(room.learner, room.channel)
    await eventually(lambda: mentor_tab.names() == ["learner.join"])

    await first.close()
    await asyncio.sleep(LEAVE_GRACE + 0.2)
    assert mentor_tab.names() == ["learner.join"]

    await second.close()
    await eventually(lambda: mentor_tab.names() == ["learner.join", "learner.leave"])
    await asyncio.sleep(0.2)
    assert mentor_tab.names() == ["learner.join", "learner.leave"]


async def test_a_quick_reload_shows_no_leave_and_join(room: Room, open_tab) -> None:
    mentor_tab = await open_tab(room.mentor, room.channel)
    tab = await open_tab(room.learner, room.channel)
    await eventually(lambda: mentor_tab.names() == ["learner.join"])

    await tab.close()
    await open_tab(room.learner, room.channel)
    await asyncio.sleep(LEAVE_GRACE + 0.2)

    assert mentor_tab.names() == ["learner.join"]
    waiting = (await room.mentor.json("GET", f"/api/sessions/{room.session_id}/lobby", 200))["waiting"]
    assert [w["user_id"] for w in waiting] == [room.ids["learner"]]


async def test_unsubscribing_ends_presence_and_a_plain_subscription_announces_nothing(room: Room, open_tab) -> None:
    mentor_tab = await open_tab(room.mentor, room.channel)
    quiet = await open_tab(room.learner, room.channel, presence=False)
    await asyncio.sleep(0.2)
    assert mentor_tab.events == []
    await quiet.close()

    tab = await open_tab(room.learner, room.channel)
    await eventually(lambda: mentor_tab.names() == ["learner.join"])
    await tab.ws.send_json({"type": "unsubscribe", "channel": room.channel})
    await eventually(lambda: mentor_tab.names() == ["learner.join", "learner.leave"])


async def test_presence_must_be_a_boolean_and_needs_access(room: Room, open_tab) -> None:
    mentor_tab = await open_tab(room.mentor, room.channel)
    ws = await room.unbooked.client.ws_connect("/ws")
    await ws.send_json({"type": "subscribe", "channel": room.channel, "presence": True})
    assert (await ws.receive_json(timeout=5))["error"] == "forbidden"
    await ws.send_json({"type": "subscribe", "channel": room.channel, "presence": "yes"})
    assert (await ws.receive_json(timeout=5))["error"] == "presence must be true or false"
    await ws.close()
    await asyncio.sleep(0.2)
    assert mentor_tab.events == []


async def test_the_lobby_is_for_the_mentor_admins_and_booked_learners(room: Room) -> None:
    path = f"/api/sessions/{room.session_id}/lobby"
    for reader in (room.mentor, room.admin, room.learner):
        assert (await reader.json("GET", path, 200))["status"] == "scheduled"
    assert "booked" in (await room.unbooked.json("GET", path, 403))["error"]
    assert "error" in await room.anonymous.json("GET", path, 401)
    assert "error" in await room.mentor.json("GET", "/api/sessions/999999/lobby", 404)
    assert "error" in await room.mentor.json("GET", "/api/sessions/99999999999999999999999/lobby", 404)


async def test_a_learner_whose_booking_ends_leaves_the_lobby(room: Room, open_tab) -> None:
    mentor_tab = await open_tab(room.mentor, room.channel)
    await open_tab(room.learner, room.channel)
    await eventually(lambda: mentor_tab.names() == ["learner.join"])
    async with room.mentor.app[DB].session() as s:
        await s.execute(update(Booking).where(col(Booking.session_id) == room.session_id).values(status="refunded"))
        await s.commit()

    assert await room.mentor.app[HUB].reauthorize() == 1

    await eventually(lambda: mentor_tab.names() == ["learner.join", "learner.leave"])


async def test_the_admin_dashboard_links_a_live_room_for_observing(live_room: Room) -> None:
    response = await live_room.admin.get("/dashboard/admin")
    assert response.status == 200
    page = await response.text()
    assert f'href="/session/{live_room.room_code}/"' in page and "Observe ▶" in page
    # The room page opens for the admin, as an observer.
    room_page = await live_room.admin.get(f"/session/{live_room.room_code}/")
    assert room_page.status == 200
