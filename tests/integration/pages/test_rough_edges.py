"""What a new user notices on the pages themselves: booked cards, the favicon, error pages, wording, reminders."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel import select

from models.clock import ManualClock
from models.tables import ScheduledJob
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from web.accounts.service import create_account
from web.keys import CLOCK, DB, PASSWORDS

NewApi = Callable[[], Awaitable[ApiClient]]


def _card(html: str, session_id: int) -> str:
    match = re.search(rf'<article class="session-card" data-session-id="{session_id}">(.*?)</article>', html, re.S)
    assert match, f"no card for session {session_id}"
    return match.group(1)


async def _page(api: ApiClient, path: str, expect: int = 200) -> str:
    response = await api.get(path)
    assert response.status == expect, f"GET {path}: {response.status}"
    assert response.content_type == "text/html"
    return await response.text()


async def test_landing_shows_booked_instead_of_book_for_the_learners_own_seats(api: ApiClient, new_api: NewApi) -> None:
    await sign_up(api, "mentor", "maya@example.com")
    booked = (await create_session(api, title="Booked one"))["id"]
    other = (await create_session(api, title="Open one"))["id"]
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    await learner.json("POST", f"/api/sessions/{booked}/bookings", 201)

    html = await _page(learner, "/")

    assert "Booked ✔" in _card(html, booked) and "Book ▶" not in _card(html, booked)
    assert "Book ▶" in _card(html, other) and "Booked ✔" not in _card(html, other)
    # Someone else, or nobody, still sees Book ▶ on it.
    assert "Book ▶" in _card(await _page(await new_api(), "/"), booked)


async def test_favicon_is_served_and_linked(api: ApiClient) -> None:
    response = await api.get("/favicon.ico")
    assert response.status == 200
    assert (await response.read())[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert '<link rel="icon" href="/favicon.ico"' in await _page(api, "/")


async def test_unknown_pages_and_rooms_get_the_styled_404(api: ApiClient) -> None:
    await sign_up(api, "mentor", "maya@example.com")

    room = await _page(api, "/session/no-such-room/", 404)
    assert "No session has this room" in room
    assert "styles.css" in room and "Go to your dashboard" in room
    page = await _page(api, "/no/such/page", 404)
    assert "There is no page at this address." in page and "styles.css" in page
    # The API keeps its JSON errors.
    missing = await api.get("/api/no-such-endpoint")
    assert (missing.status, missing.content_type) == (404, "application/json")


async def test_the_403_page_names_the_role_grammatically(api: ApiClient, new_api: NewApi) -> None:
    app = api.app
    await create_account(app[DB], app[CLOCK], app[PASSWORDS], "admin",
                         {"email": "root@example.com", "name": "Root Admin", "password": "admin12345"})
    await api.json("POST", "/api/auth/login", 200, json={"email": "root@example.com", "password": "admin12345"})

    html = await _page(api, "/dashboard/learner", 403)

    assert "You are signed in as an admin." in html
    mentor = await new_api()
    await sign_up(mentor, "mentor", "maya@example.com")
    assert "You are signed in as a mentor." in await _page(mentor, "/dashboard/learner", 403)


async def test_booking_a_session_that_already_started_sets_no_starts_soon_reminder(
    api: ApiClient, new_api: NewApi, clock: ManualClock
) -> None:
    await sign_up(api, "mentor", "maya@example.com")
    sid = (await create_session(api))["id"]  # 10:00 to 11:00Z; the clock reads 09:00Z
    clock.advance(timedelta(minutes=50))
    await api.json("POST", f"/api/sessions/{sid}/go-live", 200)
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")

    body = await learner.json("POST", f"/api/sessions/{sid}/bookings", 201)

    assert body["session"]["viewer"]["can_join"] is True
    async with api.app[DB].session() as s:
        reminders = (await s.exec(select(ScheduledJob).where(ScheduledJob.kind == "session_reminder"))).all()
    assert reminders == []


async def test_create_session_reports_every_field_error_at_once(api: ApiClient) -> None:
    await sign_up(api, "mentor", "maya@example.com")

    body = await api.json("POST", "/api/sessions", 400, json={
        "title": "x", "domain_tags": [], "description": "", "start_at": "not a time",
        "duration_minutes": 5, "price_paise": -1, "capacity": 0})

    fields = [problem["field"] for problem in body["errors"]]
    assert fields == ["title", "domain_tags", "start_at", "duration_minutes", "price_paise", "capacity"]
    assert (body["field"], body["error"]) == ("title", body["errors"][0]["message"])
