"""Guards (these held before this review and must keep holding): nobody reaches another user's
session, booking or room, and PATCH only changes the fields a mentor may set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up

NewApi = Callable[[], Awaitable[ApiClient]]


async def test_patch_ignores_fields_a_mentor_may_not_set(api: ApiClient, new_api: NewApi) -> None:
    await sign_up(api, "mentor", "m@example.com")
    other = await new_api()
    other_mentor = (await sign_up(other, "mentor", "m2@example.com"))["user"]
    session = await create_session(api)
    body = await api.json("PATCH", f"/api/sessions/{session['id']}", 200, json={
        "title": "Renamed", "status": "live", "seats_taken": 0, "capacity": 3, "room_code": "chosen-by-me",
        "mentor_id": other_mentor["id"], "id": 999, "went_live_at": "2030-01-01T09:00:00Z",
    })
    edited = body["session"]
    assert edited["title"] == "Renamed" and edited["capacity"] == 3
    assert edited["status"] == "scheduled"
    assert edited["room_code"] == session["room_code"] != "chosen-by-me"
    assert edited["mentor"]["id"] == session["mentor"]["id"] != other_mentor["id"]
    assert edited["id"] == session["id"]


async def test_another_mentor_and_learners_cannot_touch_a_session(api: ApiClient, new_api: NewApi) -> None:
    await sign_up(api, "mentor", "m@example.com")
    session = await create_session(api)
    sid = session["id"]
    intruder = await new_api()
    await sign_up(intruder, "mentor", "m2@example.com")
    for method, path, kwargs in [
        ("PATCH", f"/api/sessions/{sid}", {"json": {"title": "Mine now"}}),
        ("POST", f"/api/sessions/{sid}/cancel", {}),
        ("POST", f"/api/sessions/{sid}/go-live", {}),
        ("POST", f"/api/sessions/{sid}/end", {}),
        ("GET", f"/api/sessions/{sid}/bookings", {}),
        ("GET", f"/api/sessions/{sid}/join", {}),
    ]:
        response = await intruder.request(method, path, **kwargs)
        assert response.status == 403, (method, path, response.status)
    seen = (await intruder.json("GET", f"/api/sessions/{sid}", 200))["session"]
    assert seen["room_code"] is None
    page = await intruder.client.get(f"/session/{session['room_code']}/", allow_redirects=False)
    assert page.status == 403


async def test_room_code_only_reaches_a_learner_once_the_booking_is_confirmed(api: ApiClient, new_api: NewApi) -> None:
    await sign_up(api, "mentor", "m@example.com")
    session = await create_session(api)
    learner = await new_api()
    await sign_up(learner, "learner", "l@example.com")
    before = (await learner.json("GET", f"/api/sessions/{session['id']}", 200))["session"]
    assert before["room_code"] is None
    listed = (await learner.json("GET", "/api/sessions?tab=scheduled", 200))["sessions"]
    assert all(item["room_code"] is None for item in listed)
    assert (await learner.get(f"/api/sessions/{session['id']}/join")).status == 403
    await learner.json("POST", f"/api/sessions/{session['id']}/bookings", 201)
    after = (await learner.json("GET", f"/api/sessions/{session['id']}", 200))["session"]
    assert after["room_code"] == session["room_code"]
    anonymous = await new_api()
    assert (await anonymous.json("GET", f"/api/sessions/{session['id']}", 200))["session"]["room_code"] is None
