"""Browse tabs (recommended, scheduled, live) and My Sessions tabs (upcoming, live, past)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models.clock import ManualClock
from models.tables import MentorProfile
from tests.integration.sessions.helpers import People, create_session, me
from tests.support.api import ApiClient
from web.keys import DB

START = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


async def titles(api: ApiClient, path: str) -> list[str]:
    body: dict[str, Any] = await api.json("GET", path, 200)
    return [s["title"] for s in body["sessions"]]


async def rate(api: ApiClient, mentor_id: int, total: int, count: int) -> None:
    async with api.app[DB].session() as s:
        profile = await s.get(MentorProfile, mentor_id)
        assert profile is not None
        profile.rating_sum, profile.rating_count = total, count
        s.add(profile)
        await s.commit()


async def test_scheduled_lists_future_scheduled_sessions_by_start(people: People, clock: ManualClock) -> None:
    await create_session(people.mentor, title="Later one", start_at="2030-01-03T10:00:00Z")
    await create_session(people.mentor, title="Sooner one", start_at="2030-01-02T10:00:00Z")
    gone = await create_session(people.mentor, title="Cancelled one", start_at="2030-01-02T12:00:00Z")
    await people.mentor.json("POST", f"/api/sessions/{gone['id']}/cancel", 200)
    await create_session(people.mentor, title="Starting soon", start_at="2030-01-01T09:30:00Z")
    assert await titles(people.anonymous, "/api/sessions?tab=scheduled") == [
        "Starting soon", "Sooner one", "Later one"]
    clock.set(datetime(2030, 1, 1, 9, 30, tzinfo=UTC))
    assert await titles(people.anonymous, "/api/sessions") == ["Sooner one", "Later one"], \
        "a session whose start has come is no longer in the future"


async def test_live_now_lists_only_live_sessions(people: People, clock: ManualClock) -> None:
    live = await create_session(people.mentor, title="On air")
    await create_session(people.mentor, title="Not yet", start_at="2030-01-01T12:00:00Z")
    clock.set(START - timedelta(minutes=10))
    await people.mentor.json("POST", f"/api/sessions/{live['id']}/go-live", 200)
    body = await people.learner.json("GET", "/api/sessions?tab=live", 200)
    assert [s["title"] for s in body["sessions"]] == ["On air"]
    card = body["sessions"][0]
    assert card["status"] == "live" and card["room_code"] is None
    assert card["viewer"]["can_book"] is True and card["viewer"]["can_join"] is False


async def test_recommended_ranks_by_interest_overlap_then_rating_then_start(people: People) -> None:
    maya, omar = await me(people.mentor), await me(people.other_mentor)
    await rate(people.mentor, maya["id"], 8, 2)  # 4.0
    await rate(people.mentor, omar["id"], 10, 2)  # 5.0
    # The learner's interests are "python" and "system design".
    await create_session(people.mentor, title="No overlap", domain_tags=["cooking"], start_at="2030-01-01T11:00:00Z")
    await create_session(people.mentor, title="One overlap, 4.0", domain_tags=["python"],
                         start_at="2030-01-01T12:00:00Z")
    await create_session(people.other_mentor, title="One overlap, 5.0", domain_tags=["Python", "rust"],
                         start_at="2030-01-01T13:00:00Z")
    await create_session(people.mentor, title="Two overlaps", domain_tags=["python", "system design"],
                         start_at="2030-01-02T09:00:00Z")
    await create_session(people.mentor, title="One overlap, 4.0, earlier", domain_tags=["system design"],
                         start_at="2030-01-01T11:30:00Z")
    booked = await create_session(people.mentor, title="Already booked", domain_tags=["python", "system design"])
    await people.learner.json("POST", f"/api/sessions/{booked['id']}/bookings", 201)

    assert await titles(people.learner, "/api/sessions?tab=recommended") == [
        "Two overlaps", "One overlap, 5.0", "One overlap, 4.0, earlier", "One overlap, 4.0", "No overlap"]
    # Another learner with other interests gets another order from the same sessions.
    assert (await titles(people.second_learner, "/api/sessions?tab=recommended"))[0] == "One overlap, 5.0"


async def test_recommended_needs_a_learner(people: People) -> None:
    assert (await people.anonymous.get("/api/sessions?tab=recommended")).status == 401
    assert (await people.mentor.get("/api/sessions?tab=recommended")).status == 403
    body = await people.learner.json("GET", "/api/sessions?tab=everything", 400)
    assert body["field"] == "tab"


async def test_mentor_tabs_split_upcoming_live_and_past(people: People, clock: ManualClock) -> None:
    await create_session(people.mentor, title="Upcoming", start_at="2030-01-02T10:00:00Z")
    live = await create_session(people.mentor, title="Live", start_at="2030-01-01T09:10:00Z")
    cancelled = await create_session(people.mentor, title="Cancelled", start_at="2030-01-02T11:00:00Z")
    await people.mentor.json("POST", f"/api/sessions/{cancelled['id']}/cancel", 200)
    ended = await create_session(people.mentor, title="Ended", start_at="2030-01-01T09:05:00Z", duration_minutes=15)
    missed = await create_session(people.mentor, title="Never went live", start_at="2030-01-01T09:01:00Z",
                                  duration_minutes=15)
    late = await create_session(people.mentor, title="Late start", start_at="2030-01-01T09:20:00Z")
    await create_session(people.other_mentor, title="Someone else's")
    clock.set(datetime(2030, 1, 1, 9, 0, 30, tzinfo=UTC))
    await people.mentor.json("POST", f"/api/sessions/{ended['id']}/go-live", 200)
    await people.mentor.json("POST", f"/api/sessions/{ended['id']}/end", 200)
    await people.mentor.json("POST", f"/api/sessions/{live['id']}/go-live", 200)
    clock.set(datetime(2030, 1, 1, 9, 25, tzinfo=UTC))

    assert await titles(people.mentor, "/api/sessions/mine?tab=upcoming") == ["Late start", "Upcoming"]
    assert await titles(people.mentor, "/api/sessions/mine?tab=live") == ["Live"]
    assert await titles(people.mentor, "/api/sessions/mine?tab=past") == ["Cancelled", "Ended", "Never went live"]
    upcoming = (await people.mentor.json("GET", "/api/sessions/mine", 200))["sessions"]
    late_card = next(s for s in upcoming if s["id"] == late["id"])
    assert late_card["viewer"]["can_go_live"] is True and late_card["room_code"]
    assert missed["id"] not in [s["id"] for s in upcoming]


async def test_learner_tabs_show_booked_sessions(people: People, clock: ManualClock) -> None:
    soon = await create_session(people.mentor, title="Booked soon", start_at="2030-01-01T09:10:00Z")
    later = await create_session(people.mentor, title="Booked later", start_at="2030-01-02T10:00:00Z")
    dropped = await create_session(people.mentor, title="Booked then cancelled", start_at="2030-01-03T10:00:00Z")
    await create_session(people.mentor, title="Not booked")
    for session in (soon, later, dropped):
        await people.learner.json("POST", f"/api/sessions/{session['id']}/bookings", 201)
    await people.mentor.json("POST", f"/api/sessions/{dropped['id']}/cancel", 200)
    await people.mentor.json("POST", f"/api/sessions/{soon['id']}/go-live", 200)

    assert await titles(people.learner, "/api/sessions/mine?tab=upcoming") == ["Booked later"]
    assert await titles(people.learner, "/api/sessions/mine?tab=live") == ["Booked soon"]
    assert await titles(people.learner, "/api/sessions/mine?tab=past") == ["Booked then cancelled"]
    assert await titles(people.second_learner, "/api/sessions/mine?tab=upcoming") == []
    live_card = (await people.learner.json("GET", "/api/sessions/mine?tab=live", 200))["sessions"][0]
    assert live_card["room_code"] == soon["room_code"]
    assert live_card["viewer"]["can_join"] is True
    assert (await people.anonymous.get("/api/sessions/mine")).status == 401


async def test_a_signed_out_visitor_sees_whether_booking_is_open(people: People) -> None:
    sid = (await create_session(people.mentor, capacity=1))["id"]
    card = (await people.anonymous.json("GET", f"/api/sessions/{sid}", 200))["session"]
    assert card["viewer"]["can_book"] is True and card["viewer"]["booking_status"] is None
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    card = (await people.anonymous.json("GET", f"/api/sessions/{sid}", 200))["session"]
    assert card["viewer"]["can_book"] is False and card["viewer"]["reasons"]["book"] == "This session is full."
    mentor_card = (await people.other_mentor.json("GET", f"/api/sessions/{sid}", 200))["session"]
    assert mentor_card["viewer"]["can_book"] is False and mentor_card["viewer"]["can_edit"] is False
    assert (await people.anonymous.get("/api/sessions/424242")).status == 404
