"""What follows the end: the Past tabs, attendance, the mentor's rating on cards and profile, the reminder."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel import select

from media_server import ParticipantJoined
from models.clock import ManualClock
from models.tables import Booking, Notification
from tests.integration.after_session.cast import Cast, run_session, user_id
from tests.integration.after_session.files import PDF, upload_form
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from web.jobs import JOB_RUNNER
from web.keys import DB
from web.room.keys import MEDIA_NODE


async def _joined(cast: Cast, room: str, learner_id: int) -> None:
    """The SFU reports the learner's media connection in the room; wait until attendance is written."""
    cast.mentor.app[MEDIA_NODE].emit(ParticipantJoined(room, "p-1", str(learner_id), "Lena", "learner"))
    for _ in range(200):
        async with cast.mentor.app[DB].session() as s:
            booking = (await s.exec(select(Booking).where(Booking.learner_id == learner_id))).first()
        if booking is not None and booking.attended_at is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("attendance was never recorded")


async def test_the_learners_past_tab(cast: Cast, clock: ManualClock) -> None:
    ended = await run_session(cast, clock, title="Ended and rated")
    learner_id = await user_id(cast.learner)
    await _joined(cast, ended["room_code"], learner_id)
    resource = (await cast.mentor.json("POST", f"/api/sessions/{ended['id']}/resources", 201,
                                       data=upload_form(PDF, "slides.pdf")))["resource"]
    unrated = await run_session(cast, clock, title="Ended, not rated yet")
    upcoming = await create_session(cast.mentor, title="Still to come", start_at="2030-02-01T10:00:00Z")
    await cast.learner.json("POST", f"/api/sessions/{upcoming['id']}/bookings", 201)
    await cast.learner.json("POST", f"/api/sessions/{ended['id']}/feedback", 201, json={"rating": 4})

    past = (await cast.learner.json("GET", "/api/sessions/mine/past", 200))["sessions"]

    assert [s["title"] for s in past] == ["Ended, not rated yet", "Ended and rated"]
    latest, rated = past
    assert latest["status"] == "ended" and latest["viewer"]["booking_status"] == "confirmed"
    assert latest["after"] == {"attended": False, "resources": [], "feedback": None, "editable_until": None,
                               "can_rate": True}
    assert rated["after"]["attended"] is True
    assert rated["after"]["resources"] == [resource]
    assert rated["after"]["feedback"]["rating"] == 4
    assert rated["after"]["can_rate"] is True
    assert rated["mentor_rating"] == {"average": 4.0, "count": 1}
    # The same sessions as the plain Past tab, in the same order.
    plain = (await cast.learner.json("GET", "/api/sessions/mine?tab=past", 200))["sessions"]
    assert [s["id"] for s in plain] == [s["id"] for s in past]
    assert unrated["id"] == latest["id"]

    clock.advance(timedelta(days=8))
    later = (await cast.learner.json("GET", "/api/sessions/mine/past", 200))["sessions"]
    # Rating has no deadline; changing a rating given has one (7 days).
    assert [s["after"]["can_rate"] for s in later] == [True, False]


async def test_the_mentors_past_tab(cast: Cast, clock: ManualClock,
                                    new_api: Callable[[], Awaitable[ApiClient]]) -> None:
    second = await new_api()
    await sign_up(second, "learner", "lia@example.com", name="Lia Second")
    ended = await run_session(cast, clock, learners=(second,))
    await _joined(cast, ended["room_code"], await user_id(cast.learner))
    await cast.learner.json("POST", f"/api/sessions/{ended['id']}/feedback", 201,
                            json={"rating": 5, "comment": "Loved the examples"})
    await second.json("POST", f"/api/sessions/{ended['id']}/feedback", 201, json={"rating": 2})
    resource = (await cast.mentor.json("POST", f"/api/sessions/{ended['id']}/resources", 201,
                                       data=upload_form(PDF, "slides.pdf")))["resource"]

    past = (await cast.mentor.json("GET", "/api/sessions/mine/past", 200))["sessions"]

    assert [s["id"] for s in past] == [ended["id"]]
    after = past[0]["after"]
    assert (after["booked"], after["attended"]) == (2, 1)
    assert after["rating"] == {"average": 3.5, "count": 2}
    assert {(f["learner_name"], f["rating"], f["comment"]) for f in after["feedback"]} == {
        ("Lena Learner", 5, "Loved the examples"), ("Lia Second", 2, "")}
    assert after["resources"] == [resource]
    assert (await cast.other_mentor.json("GET", "/api/sessions/mine/past", 200))["sessions"] == []
    assert (await cast.anonymous.get("/api/sessions/mine/past")).status == 401
    assert (await cast.admin.get("/api/sessions/mine/past")).status == 403


async def test_the_rating_shows_on_cards_and_the_profile(cast: Cast, clock: ManualClock,
                                                         new_api: Callable[[], Awaitable[ApiClient]]) -> None:
    mentor_id = await user_id(cast.mentor)
    profile = await cast.anonymous.json("GET", f"/api/mentors/{mentor_id}", 200)
    assert profile["mentor_rating"] == {"average": None, "count": 0}
    second = await new_api()
    await sign_up(second, "learner", "lia@example.com", name="Lia Second")
    ended = await run_session(cast, clock, learners=(second,))
    await cast.learner.json("POST", f"/api/sessions/{ended['id']}/feedback", 201, json={"rating": 5})
    await second.json("POST", f"/api/sessions/{ended['id']}/feedback", 201, json={"rating": 4})
    # An edit moves the average without counting twice.
    await second.json("POST", f"/api/sessions/{ended['id']}/feedback", 200, json={"rating": 3})
    await create_session(cast.mentor, title="Next one", start_at="2030-03-01T10:00:00Z")
    await create_session(cast.other_mentor, title="Someone else's", start_at="2030-03-01T11:00:00Z")

    cards = (await cast.anonymous.json("GET", "/api/sessions?tab=scheduled", 200))["sessions"]

    by_title = {card["title"]: card["mentor_rating"] for card in cards}
    assert by_title == {"Next one": {"average": 4.0, "count": 2}, "Someone else's": {"average": None, "count": 0}}
    profile = await cast.anonymous.json("GET", f"/api/mentors/{mentor_id}", 200)
    assert profile["mentor_rating"] == {"average": 4.0, "count": 2}
    assert profile["mentor"]["rating"] == 4.0


async def test_the_feedback_reminder_links_to_the_form_and_skips_who_rated(
    cast: Cast, clock: ManualClock, new_api: Callable[[], Awaitable[ApiClient]]
) -> None:
    second = await new_api()
    await sign_up(second, "learner", "lia@example.com", name="Lia Second")
    ended = await run_session(cast, clock, learners=(second,))
    await cast.learner.json("POST", f"/api/sessions/{ended['id']}/feedback", 201, json={"rating": 5})

    clock.advance(timedelta(minutes=59))
    await cast.mentor.app[JOB_RUNNER].run_due()
    async with cast.mentor.app[DB].session() as s:
        assert (await s.exec(select(Notification).where(Notification.kind == "feedback_reminder"))).all() == []

    clock.advance(timedelta(minutes=1))
    assert await cast.mentor.app[JOB_RUNNER].run_due() == 2
    async with cast.mentor.app[DB].session() as s:
        notes = (await s.exec(select(Notification).where(Notification.kind == "feedback_reminder"))).all()
    assert [(n.user_id, n.title, n.data) for n in notes] == [
        (await user_id(second), "Rate your mentor",
         {"session_id": ended["id"], "url": f"/session/{ended['room_code']}/#feedback"}),
    ]
    bell = await second.json("GET", "/api/notifications", 200)
    assert bell["notifications"][0]["data"]["url"] == f"/session/{ended['room_code']}/#feedback"
