"""Go Live, Enter Room / Join (join tokens) and End, against the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from media_server.tokens import verify_join_token
from models.clock import ManualClock
from models.tables import MentorSession, Notification, ScheduledJob
from tests.integration.sessions.helpers import BusTap, People, create_session, me
from web.keys import DB, SECRET

START = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


async def test_go_live_opens_at_start_minus_fifteen(people: People, clock: ManualClock, bus_tap: BusTap) -> None:
    session = await create_session(people.mentor)
    sid, room = session["id"], session["room_code"]
    learner = await me(people.learner)
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    await bus_tap.listen(f"sessions:{room}", f"sessions:{sid}", f"notifications:{learner['id']}")

    clock.set(START - timedelta(minutes=15) - SECOND)
    early = await people.mentor.json("POST", f"/api/sessions/{sid}/go-live", 409)
    assert "15 minutes" in early["error"]
    assert bus_tap.seen == []

    clock.set(START - timedelta(minutes=15))
    body = await people.mentor.json("POST", f"/api/sessions/{sid}/go-live", 200)

    assert body["redirect"] == f"/session/{room}/"
    assert body["session"]["status"] == "live"
    assert body["session"]["viewer"]["can_enter_room"] is True
    bus_tap.assert_published_after_commit()
    assert bus_tap.events(f"sessions:{room}") == [("session.live", {"session_id": sid, "room_code": room})]
    assert bus_tap.names(f"sessions:{sid}") == ["session_updated"]
    assert bus_tap.names(f"notifications:{learner['id']}") == ["session_live"]
    async with people.mentor.app[DB].session() as s:
        row = await s.get(MentorSession, sid)
    assert row is not None and row.went_live_at is not None
    again = await people.mentor.json("POST", f"/api/sessions/{sid}/go-live", 409)
    assert "already live" in again["error"]


async def test_only_its_mentor_goes_live(people: People, clock: ManualClock) -> None:
    sid = (await create_session(people.mentor))["id"]
    clock.set(START)
    assert (await people.other_mentor.post(f"/api/sessions/{sid}/go-live")).status == 403
    assert (await people.learner.post(f"/api/sessions/{sid}/go-live")).status == 403
    assert (await people.anonymous.post(f"/api/sessions/{sid}/go-live")).status == 401


async def test_enter_room_needs_a_confirmed_booking_and_records_only_for_the_mentor(
    people: People, clock: ManualClock
) -> None:
    session = await create_session(people.mentor, record=True)
    sid, room = session["id"], session["room_code"]
    refused = await people.mentor.json("GET", f"/api/sessions/{sid}/join", 409)
    assert "book" in refused["error"]

    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    body = await people.mentor.json("GET", f"/api/sessions/{sid}/join", 200)

    assert body["room_url"] == f"/session/{room}/"
    assert body["role"] == "mentor"
    now = clock.now()
    assert body["expires_at"] == (now + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
    claims = verify_join_token(people.mentor.app[SECRET], body["token"], now)
    mentor = await me(people.mentor)
    assert (claims.user_id, claims.role, claims.room, claims.node, claims.record) == (
        str(mentor["id"]), "mentor", room, "local", True)
    assert claims.name == "Maya Mentor"

    clock.set(START - timedelta(minutes=5))
    learner_body = await people.learner.json("GET", f"/api/sessions/{sid}/join", 200)
    learner_claims = verify_join_token(people.mentor.app[SECRET], learner_body["token"], clock.now())
    assert (learner_claims.role, learner_claims.record) == ("learner", False)


async def test_join_needs_a_booking_and_opens_at_start_minus_five(people: People, clock: ManualClock) -> None:
    sid = (await create_session(people.mentor))["id"]
    not_booked = await people.learner.json("GET", f"/api/sessions/{sid}/join", 403)
    assert "booked" in not_booked["error"]
    assert (await people.other_mentor.get(f"/api/sessions/{sid}/join")).status == 403
    assert (await people.anonymous.get(f"/api/sessions/{sid}/join")).status == 401

    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    clock.set(START - timedelta(minutes=5) - SECOND)
    early = await people.learner.json("GET", f"/api/sessions/{sid}/join", 409)
    assert "5 minutes" in early["error"]
    view = await people.learner.json("GET", f"/api/sessions/{sid}", 200)
    assert view["session"]["viewer"]["can_join"] is False
    assert view["session"]["viewer"]["reasons"]["join"] == early["error"]

    clock.set(START - timedelta(minutes=5))
    body = await people.learner.json("GET", f"/api/sessions/{sid}/join", 200)
    assert body["role"] == "learner"
    view = await people.learner.json("GET", f"/api/sessions/{sid}", 200)
    assert view["session"]["viewer"]["can_join"] is True


async def test_join_opens_early_when_the_mentor_goes_live(people: People, clock: ManualClock) -> None:
    sid = (await create_session(people.mentor))["id"]
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    clock.set(START - timedelta(minutes=12))
    await people.learner.json("GET", f"/api/sessions/{sid}/join", 409)
    await people.mentor.json("POST", f"/api/sessions/{sid}/go-live", 200)
    assert (await people.learner.json("GET", f"/api/sessions/{sid}/join", 200))["role"] == "learner"


async def test_end_needs_live_and_closes_the_room(people: People, clock: ManualClock, bus_tap: BusTap) -> None:
    session = await create_session(people.mentor)
    sid, room = session["id"], session["room_code"]
    learner = await me(people.learner)
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    assert "live" in (await people.mentor.json("POST", f"/api/sessions/{sid}/end", 409))["error"]
    clock.set(START)
    await people.mentor.json("POST", f"/api/sessions/{sid}/go-live", 200)
    assert (await people.other_mentor.post(f"/api/sessions/{sid}/end")).status == 403
    await bus_tap.listen(f"sessions:{room}")
    bus_tap.reset()

    body = await people.mentor.json("POST", f"/api/sessions/{sid}/end", 200)

    assert body["session"]["status"] == "ended"
    bus_tap.assert_published_after_commit()
    assert bus_tap.events(f"sessions:{room}") == [("session.end", {"session_id": sid, "room_code": room})]
    assert "ended" in (await people.learner.json("GET", f"/api/sessions/{sid}/join", 409))["error"]
    assert "ended" in (await people.mentor.json("GET", f"/api/sessions/{sid}/join", 409))["error"]
    async with people.mentor.app[DB].session() as s:
        row = await s.get(MentorSession, sid)
        jobs = (await s.exec(select(ScheduledJob).where(ScheduledJob.kind == "feedback_reminder"))).all()
        live_notes = (await s.exec(select(Notification).where(Notification.kind == "session_live"))).all()
    assert row is not None and row.ended_at is not None
    assert [job.args for job in jobs] == [{"session_id": sid, "learner_id": learner["id"]}]
    assert [n.user_id for n in live_notes] == [learner["id"]]


async def test_go_live_is_refused_once_the_scheduled_time_is_over(people: People, clock: ManualClock) -> None:
    sid = (await create_session(people.mentor, duration_minutes=30))["id"]
    clock.set(START + timedelta(minutes=30))
    body = await people.mentor.json("POST", f"/api/sessions/{sid}/go-live", 409)
    assert "over" in body["error"]
