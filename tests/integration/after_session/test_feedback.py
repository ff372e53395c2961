"""Rate Your Mentor: who may rate, the 7-day edit window, the mentor's view, and abusive input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from models.clock import ManualClock
from models.tables import Booking
from tests.integration.after_session.cast import Cast, run_session
from tests.support.api import ApiClient, sign_up
from web.keys import DB

SECOND = timedelta(seconds=1)


async def rate(client: ApiClient, sid: int, expect: int, **body: object) -> dict[str, object]:
    result: dict[str, object] = await client.json("POST", f"/api/sessions/{sid}/feedback", expect, json=body)
    return result


async def test_only_a_booked_learner_rates_an_ended_session(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    expected = {"mentor": 403, "other_mentor": 403, "unbooked_learner": 403, "admin": 403, "signed_out": 401}
    for who, client in cast.everyone().items():
        if who == "booked_learner":
            continue
        response = await client.post(f"/api/sessions/{sid}/feedback", json={"rating": 5})
        body = await response.json()
        assert (who, response.status) == (who, expected[who]), body
        assert "error" in body

    body = await rate(cast.learner, sid, 201, rating=5, comment="  Clear and patient.  ")

    feedback = body["feedback"]
    assert isinstance(feedback, dict)
    assert (feedback["rating"], feedback["comment"], feedback["session_id"]) == (5, "Clear and patient.", sid)
    assert feedback["created_at"] == feedback["updated_at"] == "2030-01-01T10:00:00Z"
    assert feedback["editable_until"] == "2030-01-08T10:00:00Z"


async def test_rating_waits_for_the_end(cast: Cast, clock: ManualClock) -> None:
    live = await run_session(cast, clock, end=False)
    body = await rate(cast.learner, live["id"], 409, rating=4)
    assert "ended" in str(body["error"])
    await cast.mentor.json("POST", f"/api/sessions/{live['id']}/end", 200)
    await rate(cast.learner, live["id"], 201, rating=4)


async def test_a_refunded_seat_cannot_rate(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    async with cast.mentor.app[DB].session() as s:
        await s.execute(update(Booking).where(col(Booking.session_id) == sid).values(status="refunded"))
        await s.commit()
    await rate(cast.learner, sid, 403, rating=4)


async def test_edit_within_seven_days_refused_after(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    first = (await rate(cast.learner, sid, 201, rating=2, comment="Too fast"))["feedback"]
    assert isinstance(first, dict)

    clock.advance(timedelta(days=7) - SECOND)
    edited = (await rate(cast.learner, sid, 200, rating=4, comment="Rewatched my notes: it was good"))["feedback"]
    assert isinstance(edited, dict)
    assert (edited["id"], edited["rating"], edited["created_at"]) == (first["id"], 4, first["created_at"])
    assert edited["updated_at"] == "2030-01-08T09:59:59Z"

    clock.advance(SECOND)
    late = await rate(cast.learner, sid, 409, rating=1)
    assert "7 days" in str(late["error"])
    mine = await cast.learner.json("GET", f"/api/sessions/{sid}/feedback", 200)
    assert mine["feedback"]["rating"] == 4
    assert mine["editable_until"] == "2030-01-08T10:00:00Z"
    assert mine["can_submit"] is False
    mentor_view = await cast.mentor.json("GET", f"/api/sessions/{sid}/feedback", 200)
    assert (mentor_view["average"], mentor_view["count"]) == (4.0, 1)


async def test_who_reads_a_sessions_feedback(cast: Cast, clock: ManualClock,
                                             new_api: Callable[[], Awaitable[ApiClient]]) -> None:
    second = await new_api()
    await sign_up(second, "learner", "lia@example.com", name="Lia Second")
    sid = (await run_session(cast, clock, learners=(second,)))["id"]
    before = await cast.learner.json("GET", f"/api/sessions/{sid}/feedback", 200)
    assert before == {"feedback": None, "editable_until": None, "can_submit": True}
    assert await cast.mentor.json("GET", f"/api/sessions/{sid}/feedback", 200) == {
        "average": None, "count": 0, "feedback": []}

    await rate(cast.learner, sid, 201, rating=5, comment="Great")
    clock.advance(timedelta(minutes=1))
    await rate(second, sid, 201, rating=4)

    expected = {
        "average": 4.5, "count": 2,
        "feedback": [
            {"rating": 4, "comment": "", "learner_name": "Lia Second", "created_at": "2030-01-01T10:01:00Z",
             "updated_at": "2030-01-01T10:01:00Z"},
            {"rating": 5, "comment": "Great", "learner_name": "Lena Learner", "created_at": "2030-01-01T10:00:00Z",
             "updated_at": "2030-01-01T10:00:00Z"},
        ],
    }
    assert await cast.mentor.json("GET", f"/api/sessions/{sid}/feedback", 200) == expected
    assert await cast.admin.json("GET", f"/api/sessions/{sid}/feedback", 200) == expected
    own = await second.json("GET", f"/api/sessions/{sid}/feedback", 200)
    assert own["feedback"]["rating"] == 4 and own["can_submit"] is True
    for client, status in [(cast.other_mentor, 403), (cast.unbooked, 403), (cast.anonymous, 401)]:
        response = await client.get(f"/api/sessions/{sid}/feedback")
        assert response.status == status
        assert "error" in await response.json()


async def test_unknown_sessions_are_not_found(cast: Cast) -> None:
    for path in ["/api/sessions/424242/feedback", "/api/sessions/99999999999999999999999/feedback"]:
        assert (await cast.learner.get(path)).status == 404
        assert (await cast.learner.post(path, json={"rating": 3})).status == 404


@pytest.mark.parametrize("raw", [
    '{"rating": 0}', '{"rating": 6}', '{"rating": "five"}', '{"rating": 4.5}', '{"rating": true}',
    '{"rating": 1e400}', '{"rating": -99999999999999999999999999}', '{"comment": "no rating"}',
    '{"rating": null}', '{"rating": [5]}', '{"rating": 5, "comment": 12}', '{"rating": 5, "comment": ["a"]}',
    '{"rating": 5, "comment": "\\ud800 lone surrogate"}', '{"rating": 5, "comment": "nul \\u0000 byte"}',
    '[5]', '"5"', 'not json', '',
])
async def test_bad_input_is_a_400(cast: Cast, clock: ManualClock, raw: str) -> None:
    sid = (await run_session(cast, clock))["id"]
    response = await cast.learner.post(f"/api/sessions/{sid}/feedback", data=raw.encode(),
                                       headers={"Content-Type": "application/json"})
    body = await response.json()
    assert response.status == 400, body
    assert body["error"]
    assert (await cast.learner.json("GET", f"/api/sessions/{sid}/feedback", 200))["feedback"] is None


async def test_comment_length_limit(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    body = await rate(cast.learner, sid, 400, rating=5, comment="x" * 2001)
    assert body["field"] == "comment"
    saved = await rate(cast.learner, sid, 201, rating=5, comment="é" * 2000)
    assert saved["feedback"]["comment"] == "é" * 2000  # type: ignore[index]


async def test_concurrent_first_ratings_count_once(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    statuses = sorted(
        r.status for r in await asyncio.gather(
            *(cast.learner.post(f"/api/sessions/{sid}/feedback", json={"rating": n}) for n in (3, 5)))
    )
    assert statuses == [200, 201]  # one creates, the other finds it and edits
    mentor_view = await cast.mentor.json("GET", f"/api/sessions/{sid}/feedback", 200)
    assert mentor_view["count"] == 1
    mentor_id = (await cast.mentor.json("GET", "/api/me", 200))["id"]
    profile = await cast.anonymous.json("GET", f"/api/mentors/{mentor_id}", 200)
    assert profile["mentor_rating"] == {"average": mentor_view["average"], "count": 1}
