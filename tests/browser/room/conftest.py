"""A live session's room in headless Chromium: a mentor and booked learners, each their own context."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page

from models.clock import SystemClock
from models.db import Database
from models.enums import Role
from tests.support.api import LEARNER_FIELDS, MENTOR_FIELDS
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account

WAIT_MS = 15_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    context: BrowserContext
    page: Page


@dataclass
class Room:
    """A free session starting in ten minutes (Go Live is open), its mentor and booked learners
    (`seats` more places are left for learners the test books itself)."""

    base: str
    session: dict[str, Any]
    mentor: Person
    learners: list[Person]
    page_errors: list[str]

    @property
    def url(self) -> str:
        return f"{self.base}/session/{self.session['room_code']}/"

    async def go_live(self) -> None:
        await api(self.mentor.context, self.base, "POST", f"/api/sessions/{self.session['id']}/go-live", {})


async def csrf_token(context: BrowserContext, base: str) -> str:
    for cookie in await context.cookies(base):
        if cookie["name"] == "csrf_token":
            return cookie["value"]
    await context.request.get(f"{base}/healthz")
    return next(c["value"] for c in await context.cookies(base) if c["name"] == "csrf_token")


async def api(context: BrowserContext, base: str, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
    """The JSON API through the context's own cookie jar: the same session its page uses."""
    headers = {} if method == "GET" else {"X-CSRF-Token": await csrf_token(context, base)}
    response = await context.request.fetch(f"{base}{path}", method=method, data=body, headers=headers)
    payload = await response.json()
    assert response.status == expect, f"{method} {path}: {response.status} {payload}"
    return payload


PersonFactory = Callable[..., Awaitable[Person]]


def watch_errors(who: Person, errors: list[str]) -> None:
    """Uncaught errors of this person's page, named, for the test to assert there are none."""
    who.page.on("pageerror", lambda error: errors.append(f"{who.name}: {error}"))


@pytest_asyncio.fixture(loop_scope="session")
async def people(browser: Browser, browser_db: Database, live_server: str) -> AsyncIterator[PersonFactory]:
    contexts: list[BrowserContext] = []

    async def make(role: str, email: str, name: str, *, on: Browser | None = None, **options: Any) -> Person:
        fields = dict(LEARNER_FIELDS if role == Role.LEARNER else MENTOR_FIELDS)
        fields.update(email=email, name=name)
        user = await create_account(browser_db, SystemClock(), fast_test_hasher(), role, fields)
        assert user.id is not None
        viewport = options.pop("viewport", DESKTOP)
        context = await (on or browser).new_context(locale="en-US", viewport=viewport, **options)
        contexts.append(context)
        context.set_default_timeout(WAIT_MS)
        await api(context, live_server, "POST", "/api/auth/login", {"email": email, "password": fields["password"]})
        return Person(user.id, name, context, await context.new_page())

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
def open_room(people: PersonFactory, live_server: str) -> Callable[..., Awaitable[Room]]:
    async def build(learners: int = 1, *, record: bool = False, learner_options: dict[str, Any] | None = None,
                    learner_browser: Browser | None = None, seats: int = 0) -> Room:
        mentor = await people(Role.MENTOR, "maya@example.com", "Maya Mentor")
        start = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
        body = {
            "title": "Async Python in practice", "domain_tags": ["python"], "description": "A room test.",
            "start_at": start.isoformat().replace("+00:00", "Z"), "timezone": "UTC", "duration_minutes": 60,
            "price_paise": 0, "capacity": max(learners + seats, 1), "record": record,
        }
        session = (await api(mentor.context, live_server, "POST", "/api/sessions", body, expect=201))["session"]
        names = ["Lena Learner", "Ravi Rao", "Asha Iyer"]
        booked = []
        for i in range(learners):
            learner = await people(Role.LEARNER, f"learner{i}@example.com", names[i], on=learner_browser,
                                   **(learner_options or {}))
            await api(learner.context, live_server, "POST", f"/api/sessions/{session['id']}/bookings", {}, expect=201)
            booked.append(learner)
        room = Room(live_server, session, mentor, booked, [])
        for who in [mentor, *booked]:
            watch_errors(who, room.page_errors)
        return room

    return build


async def screenshot(page: Page, name: str) -> None:
    """Saved only when ROOM_SCREENS names a folder: the pictures reviewers look at."""
    folder = os.environ.get("ROOM_SCREENS")
    if folder:
        # Playwright creates the folder; the path is all it needs.
        await page.screenshot(path=str(Path(folder) / f"{name}.png"))
