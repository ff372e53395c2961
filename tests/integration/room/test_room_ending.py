"""One ending: End Session from the API, the host's signaling `end` and the empty-room job."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from media_server.testing.synthetic import ClipTrack
from media_server.tokens import verify_join_token
from models.clock import ManualClock
from models.tables import MentorSession, ScheduledJob
from tests.integration.room.conftest import SECOND, START, Room, eventually
from tests.integration.sessions.helpers import BusTap
from web.jobs import JOB_RUNNER
from web.keys import DB, SECRET
from web.room.keys import MEDIA_NODE

pytestmark = pytest.mark.media

END_PLUS_GRACE = START + timedelta(minutes=60 + 10)


def camera(clip: list[bytes]) -> ClipTrack:
    return ClipTrack("video", clip, fps=30, clock_rate=90000)


def frames(client) -> int:
    return sum(r.count for r in client.received.values())


async def status(room: Room) -> str:
    async with room.mentor.app[DB].session() as s:
        row = await s.get(MentorSession, room.session_id)
    assert row is not None
    return row.status


async def jobs(room: Room, kind: str) -> list[ScheduledJob]:
    async with room.mentor.app[DB].session() as s:
        return list((await s.exec(select(ScheduledJob).where(ScheduledJob.kind == kind))).all())


async def test_end_session_from_the_api_stops_media_within_two_seconds(
    live_room: Room, media, vp8_clip, bus_tap: BusTap
) -> None:
    room = live_room
    mentor = await media(room.mentor, room.session_id, {"camera": camera(vp8_clip)})
    learner = await media(room.learner, room.session_id)
    await learner.wait_until(lambda: frames(learner) > 10)
    await bus_tap.listen(room.channel)

    asked = time.time()
    body = await room.mentor.json("POST", f"/api/sessions/{room.session_id}/end", 200)

    assert body["session"]["status"] == "ended"
    for client in (mentor, learner):
        assert (await client.wait_for("end", within=2))["reason"] == "ended_by_host"
    await asyncio.sleep(3.0)
    last_frame = max(at for r in learner.received.values() for at in r.arrivals)
    assert last_frame - asked < 2.0, f"frames kept arriving {last_frame - asked:.1f} s after End Session"
    assert room.room_code not in room.mentor.app[MEDIA_NODE].rooms
    assert await status(room) == "ended"
    bus_tap.assert_published_after_commit()
    assert bus_tap.names(room.channel) == ["session.end"]
    assert [job.args for job in await jobs(room, "feedback_reminder")] == [
        {"session_id": room.session_id, "learner_id": room.ids["learner"]}]

    again = await room.mentor.json("POST", f"/api/sessions/{room.session_id}/end", 409)
    assert "ended" in again["error"]
    assert bus_tap.names(room.channel) == ["session.end"]
    assert len(await jobs(room, "feedback_reminder")) == 1


async def test_the_hosts_signaling_end_ends_the_session_once(live_room: Room, media, bus_tap: BusTap) -> None:
    room = live_room
    mentor = await media(room.mentor, room.session_id)
    learner = await media(room.learner, room.session_id)
    await bus_tap.listen(room.channel)

    await mentor.send({"type": "end"})

    assert (await learner.wait_for("end", within=5))["reason"] == "ended_by_host"
    await eventually(lambda: bus_tap.names(room.channel) == ["session.end"])
    assert await status(room) == "ended"
    view = await room.mentor.json("GET", f"/api/sessions/{room.session_id}", 200)
    assert view["session"]["viewer"]["can_go_live"] is False
    lobby = await room.learner.json("GET", f"/api/sessions/{room.session_id}/lobby", 200)
    assert lobby["status"] == "ended" and lobby["ended_at"] == "2030-01-01T10:00:00Z"
    await asyncio.sleep(0.3)
    assert bus_tap.names(room.channel) == ["session.end"]
    assert len(await jobs(room, "feedback_reminder")) == 1


async def test_a_learner_cannot_end_the_session(live_room: Room, media) -> None:
    room = live_room
    await media(room.mentor, room.session_id)
    learner = await media(room.learner, room.session_id)
    await learner.send({"type": "end"})
    assert (await learner.wait_for("error", lambda m: m.get("ref") == "end"))["code"] == "forbidden"
    assert (await room.learner.post(f"/api/sessions/{room.session_id}/end")).status == 403
    assert await status(room) == "live"


async def test_an_empty_live_room_is_ended_after_its_end_plus_the_grace(
    live_room: Room, clock: ManualClock, bus_tap: BusTap
) -> None:
    room = live_room
    runner = room.mentor.app[JOB_RUNNER]
    [check] = await jobs(room, "empty_room_check")
    assert check.due_at == END_PLUS_GRACE and check.args == {"session_id": room.session_id}
    await runner.run_due()  # the learner's "starting soon" reminder
    await bus_tap.listen(room.channel)

    clock.set(END_PLUS_GRACE - SECOND)
    assert await runner.run_due() == 0
    clock.set(END_PLUS_GRACE)
    assert await runner.run_due() == 1

    assert await status(room) == "ended"
    assert bus_tap.names(room.channel) == ["session.end"]
    assert len(await jobs(room, "feedback_reminder")) == 1


async def test_a_room_with_people_in_it_stays_live_and_is_checked_again(
    live_room: Room, clock: ManualClock, media
) -> None:
    room = live_room
    runner = room.mentor.app[JOB_RUNNER]
    await runner.run_due()  # the learner's "starting soon" reminder
    mentor = await media(room.mentor, room.session_id)
    clock.set(END_PLUS_GRACE)

    assert await runner.run_due() == 1
    assert await status(room) == "live"
    pending = [job for job in await jobs(room, "empty_room_check") if job.done_at is None]
    assert [job.due_at for job in pending] == [END_PLUS_GRACE + timedelta(minutes=5)]

    await mentor.leave()
    await eventually(lambda: room.room_code not in room.mentor.app[MEDIA_NODE].rooms)
    clock.set(END_PLUS_GRACE + timedelta(minutes=5))
    assert await runner.run_due() == 1
    assert await status(room) == "ended"


async def test_an_ended_session_is_left_alone_by_the_check(live_room: Room, clock: ManualClock) -> None:
    room = live_room
    await room.mentor.json("POST", f"/api/sessions/{room.session_id}/end", 200)
    clock.set(END_PLUS_GRACE)
    await room.mentor.app[JOB_RUNNER].run_due()
    assert await status(room) == "ended"
    assert [job.done_at is not None for job in await jobs(room, "empty_room_check")] == [True]


async def test_admins_get_an_observer_token_for_a_live_session(room: Room, clock: ManualClock) -> None:
    path = f"/api/sessions/{room.session_id}/join"
    refused = await room.admin.json("POST", path, 409)
    assert "live" in refused["error"]

    clock.set(START)
    await room.mentor.json("POST", f"/api/sessions/{room.session_id}/go-live", 200)
    body = await room.admin.json("POST", path, 200)

    assert body["role"] == "admin" and body["room_url"] == f"/session/{room.room_code}/"
    claims = verify_join_token(room.admin.app[SECRET], body["token"], clock.now())
    assert (claims.user_id, claims.role, claims.room, claims.record, claims.is_host) == (
        str(room.ids["admin"]), "admin", room.room_code, False, False)
    # The learner's POST works like the dashboards' GET.
    assert (await room.learner.json("POST", path, 200))["role"] == "learner"


async def test_a_host_end_before_go_live_does_not_lock_the_room_after_it(
    room: Room, media, clock: ManualClock
) -> None:
    # The mentor enters the room early (a learner booked), ends that room, then goes live later.
    early = await media(room.mentor, room.session_id)
    await early.send({"type": "end"})
    await early.wait_for("end", within=5)
    # The web app hears of the room's end, sees the session still scheduled, and lets the room reopen.
    node = room.mentor.app[MEDIA_NODE]
    await eventually(lambda: not node.room_ended(room.room_code))
    assert await status(room) == "scheduled"
    clock.set(START)
    await room.mentor.json("POST", f"/api/sessions/{room.session_id}/go-live", 200)
    learner = await media(room.learner, room.session_id)
    reply = next(m for m in learner.messages if m["type"] == "join")
    assert reply["ended"] is False
