"""Live requests: learner asks, mentor accepts (and schedules) or declines, and pending ones expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from models.clock import ManualClock
from models.tables import LiveRequest, Notification
from tests.integration.sessions.helpers import BusTap, People, me, session_fields
from web.keys import DB

REQUEST = {"topic": "Kafka consumer groups", "message": "I keep getting rebalances.",
           "preferred_times": ["Sat 10:00 IST", "Sun evening"]}


async def send(people: People, **overrides: Any) -> dict[str, Any]:
    mentor = await me(people.mentor)
    body: dict[str, Any] = await people.learner.json(
        "POST", "/api/live-requests", 201, json={"mentor_id": mentor["id"], **REQUEST, **overrides})
    request: dict[str, Any] = body["live_request"]
    return request


async def test_sending_notifies_the_mentor_after_commit(people: People, bus_tap: BusTap) -> None:
    mentor, learner = await me(people.mentor), await me(people.learner)
    await bus_tap.listen(f"requests:{mentor['id']}", f"notifications:{mentor['id']}")
    request = await send(people)
    assert request["status"] == "pending"
    assert request["learner"] == {"id": learner["id"], "name": "Lena Learner"}
    assert request["preferred_times"] == REQUEST["preferred_times"]
    assert request["expires_at"] == "2030-01-03T09:00:00Z"
    bus_tap.assert_published_after_commit()
    assert bus_tap.events(f"requests:{mentor['id']}") == [("live_request", request)]
    assert bus_tap.names(f"notifications:{mentor['id']}") == ["live_request"]
    incoming = await people.mentor.json("GET", "/api/live-requests", 200)
    assert [r["id"] for r in incoming["live_requests"]] == [request["id"]]
    own = await people.learner.json("GET", "/api/live-requests", 200)
    assert [r["id"] for r in own["live_requests"]] == [request["id"]]
    assert (await people.other_mentor.json("GET", "/api/live-requests", 200))["live_requests"] == []


async def test_bad_requests_are_named(people: People) -> None:
    mentor, other_learner = await me(people.mentor), await me(people.second_learner)
    base = {"mentor_id": mentor["id"], **REQUEST}
    no_topic = {**base, "topic": ""}
    assert (await people.learner.json("POST", "/api/live-requests", 400, json=no_topic))["field"] == "topic"
    too_many = {**base, "preferred_times": [f"slot {n}" for n in range(6)]}
    assert (await people.learner.json("POST", "/api/live-requests", 400, json=too_many))["field"] == "preferred_times"
    await people.learner.json("POST", "/api/live-requests", 404, json={**base, "mentor_id": other_learner["id"]})
    assert (await people.mentor.post("/api/live-requests", json=base)).status == 403
    await send(people)
    body = await people.learner.json("POST", "/api/live-requests", 409, json=base)
    assert "already" in body["error"]


async def test_accept_gives_a_prefill_and_scheduling_marks_the_request(people: People, bus_tap: BusTap) -> None:
    learner = await me(people.learner)
    request = await send(people)
    await bus_tap.listen(f"responses:{learner['id']}")
    assert (await people.other_mentor.post(f"/api/live-requests/{request['id']}/accept")).status == 403

    body = await people.mentor.json("POST", f"/api/live-requests/{request['id']}/accept", 200)

    assert body["live_request"]["status"] == "accepted"
    assert body["redirect"] == f"/dashboard/mentor?create_from_request={request['id']}"
    assert body["prefill"] == {
        "title": "Kafka consumer groups", "domain_tags": ["system design", "python"],
        "description": "I keep getting rebalances.", "live_request_id": request["id"],
        "preferred_times": REQUEST["preferred_times"],
    }
    bus_tap.assert_published_after_commit()
    [(event, data)] = bus_tap.events(f"responses:{learner['id']}")
    assert event == "request_accepted" and data["live_request"]["id"] == request["id"]
    assert "already accepted" in (
        await people.mentor.json("POST", f"/api/live-requests/{request['id']}/decline", 409))["error"]

    prefill = body["prefill"]
    fields = session_fields(title=prefill["title"], domain_tags=prefill["domain_tags"],
                            description=prefill["description"], live_request_id=prefill["live_request_id"])
    await people.mentor.json("POST", "/api/sessions", 201, json=fields)
    mine = await people.learner.json("GET", "/api/live-requests", 200)
    assert mine["live_requests"][0]["status"] == "scheduled"
    again = await people.mentor.json("POST", "/api/sessions", 409, json=fields)
    assert again["field"] == "live_request_id"
    async with people.mentor.app[DB].session() as s:
        notes = (await s.exec(select(Notification).where(Notification.user_id == learner["id"]))).all()
    assert [n.kind for n in notes] == ["request_accepted", "request_scheduled"]


async def test_another_mentor_cannot_schedule_a_request(people: People) -> None:
    request = await send(people)
    await people.mentor.json("POST", f"/api/live-requests/{request['id']}/accept", 200)
    fields = session_fields(live_request_id=request["id"])
    assert (await people.other_mentor.json("POST", "/api/sessions", 404, json=fields))["field"] == "live_request_id"


async def test_a_pending_request_cannot_be_scheduled_before_accepting(people: People) -> None:
    request = await send(people)
    body = await people.mentor.json("POST", "/api/sessions", 409, json=session_fields(live_request_id=request["id"]))
    assert "pending" in body["error"]


async def test_decline_tells_the_learner(people: People, bus_tap: BusTap) -> None:
    learner = await me(people.learner)
    request = await send(people)
    await bus_tap.listen(f"responses:{learner['id']}")
    body = await people.mentor.json("POST", f"/api/live-requests/{request['id']}/decline", 200)
    assert body["live_request"]["status"] == "declined"
    assert bus_tap.names(f"responses:{learner['id']}") == ["request_declined"]
    assert (await people.mentor.post(f"/api/live-requests/{request['id']}/accept")).status == 409


async def test_pending_requests_expire_after_48_hours(people: People, clock: ManualClock) -> None:
    first = await send(people)
    clock.advance(timedelta(hours=48) - timedelta(seconds=1))
    await people.mentor.json("POST", f"/api/live-requests/{first['id']}/accept", 200)

    second = await send(people, topic="Raft leader election")
    clock.advance(timedelta(hours=48))
    listed = await people.mentor.json("GET", "/api/live-requests", 200)
    assert {r["id"]: r["status"] for r in listed["live_requests"]} == {first["id"]: "accepted", second["id"]: "expired"}
    body = await people.mentor.json("POST", f"/api/live-requests/{second['id']}/accept", 409)
    assert "expired" in body["error"]
    async with people.mentor.app[DB].session() as s:
        row = await s.get(LiveRequest, second["id"])
    assert row is not None and row.status == "pending" and row.responded_at is None
    # An expired request no longer blocks asking the same mentor again.
    await send(people, topic="Raft, once more")


async def test_scheduling_tells_the_learner_at_once_with_a_link_to_book(people: People, bus_tap: BusTap) -> None:
    learner = await me(people.learner)
    request = await send(people)
    await people.mentor.json("POST", f"/api/live-requests/{request['id']}/accept", 200)
    await bus_tap.listen(f"responses:{learner['id']}")
    created = await people.mentor.json("POST", "/api/sessions", 201,
                                       json=session_fields(title="Your requested session", price_paise=29900,
                                                           live_request_id=request["id"]))
    session_id = created["session"]["id"]
    [(event, data)] = bus_tap.events(f"responses:{learner['id']}")
    assert event == "request_scheduled"
    assert (data["live_request_id"], data["session_id"]) == (request["id"], session_id)
    bus_tap.assert_published_after_commit()
    mine = await people.learner.json("GET", "/api/live-requests", 200)
    scheduled = mine["live_requests"][0]
    assert scheduled["status"] == "scheduled"
    mentor_id = (await me(people.mentor))["id"]
    assert scheduled["session"] == {
        "id": session_id, "title": "Your requested session", "start_at": created["session"]["start_at"],
        "price_paise": 29900, "price_display": "₹299.00", "status": "scheduled",
        "url": f"/mentors/{mentor_id}#session-{session_id}",
    }
    page = await people.learner.get(scheduled["session"]["url"].split("#")[0])
    assert f'id="session-{session_id}"' in await page.text(), "the link lands on the session's card"
