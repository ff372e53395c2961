"""Who may open a session's room page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from models.tables import Booking, MentorSession
from tests.support.api import ApiClient, sign_up
from web.keys import CLOCK, DB


async def make_session(api: ApiClient, mentor_id: int, learner_id: int | None) -> str:
    now = api.app[CLOCK].now()
    async with api.app[DB].session() as s:
        session = MentorSession(mentor_id=mentor_id, title="Room test", start_at=now + timedelta(hours=1),
                                room_code="room-page-1", created_at=now, updated_at=now,
                                seats_taken=1 if learner_id else 0)
        s.add(session)
        await s.flush()
        if learner_id:
            s.add(Booking(session_id=session.id or 0, learner_id=learner_id, status="confirmed", created_at=now))
        await s.commit()
    return "room-page-1"


async def test_mentor_and_booked_learner_enter_others_are_refused(
    api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]
) -> None:
    mentor = (await sign_up(api, "mentor", "m@example.com"))["user"]
    other = await new_api()
    learner = (await sign_up(other, "learner", "l@example.com"))["user"]
    stranger = await new_api()
    await sign_up(stranger, "learner", "s@example.com")
    code = await make_session(api, mentor["id"], learner["id"])

    mentor_page = await (await api.get(f"/session/{code}/")).text()
    assert "Waiting Learners" in mentor_page
    learner_page = await (await other.get(f"/session/{code}/")).text()
    assert "Waiting for Mentor to start session." in learner_page
    refused = await stranger.get(f"/session/{code}/")
    assert refused.status == 403
    assert (await api.get("/session/nope/")).status == 404


async def test_signed_out_visitor_is_sent_to_login(api: ApiClient) -> None:
    response = await api.client.get("/session/abc/", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"].startswith("/login?next=")
