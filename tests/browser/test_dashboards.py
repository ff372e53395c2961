"""The mentor and learner dashboards in a real Chromium against the real app (real clock, SQLite).

Two browser contexts are two people: what one does must reach the other's open page through
the realtime hub, without a reload.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Locator, Page, WebSocketRoute, expect

from models.clock import SystemClock
from models.db import Database
from models.enums import Role
from tests.support.api import LEARNER_FIELDS, MENTOR_FIELDS
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account

pytestmark = pytest.mark.browser

WAIT_MS = 10_000


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    context: BrowserContext
    page: Page


async def make_user(db: Database, role: str, email: str, name: str) -> int:
    fields = dict(LEARNER_FIELDS if role == Role.LEARNER else MENTOR_FIELDS)
    fields.update(email=email, name=name)
    user = await create_account(db, SystemClock(), fast_test_hasher(), role, fields)
    assert user.id is not None
    return user.id


async def csrf_token(context: BrowserContext, base: str) -> str:
    for cookie in await context.cookies(base):
        if cookie["name"] == "csrf_token":
            return cookie["value"]
    await context.request.get(f"{base}/healthz")
    return next(c["value"] for c in await context.cookies(base) if c["name"] == "csrf_token")


async def call(
    context: BrowserContext, base: str, method: str, path: str, body: Any = None, expect_status: int = 200
) -> Any:
    """The JSON API through the context's own cookie jar: the same session the page uses."""
    headers = {} if method == "GET" else {"X-CSRF-Token": await csrf_token(context, base)}
    response = await context.request.fetch(f"{base}{path}", method=method, data=body, headers=headers)
    payload = await response.json()
    assert response.status == expect_status, f"{method} {path}: {response.status} {payload}"
    return payload


async def person(
    browser: Browser, db: Database, base: str, stage: Stage, role: str, email: str, name: str,
    **context_options: Any,
) -> Person:
    """A signed-in user with a page of their own, on the test's stage."""
    user_id = await make_user(db, role, email, name)
    # A fixed locale: the zone names asserted below ("GMT+5:30") are ICU's en-US ones.
    context = await browser.new_context(locale="en-US", **context_options)
    stage.contexts.append(context)
    context.set_default_timeout(WAIT_MS)
    password = (LEARNER_FIELDS if role == Role.LEARNER else MENTOR_FIELDS)["password"]
    await call(context, base, "POST", "/api/auth/login", {"email": email, "password": password})
    page = await context.new_page()
    page.on("pageerror", lambda error: stage.page_errors.append(f"{name}: {error}"))
    return Person(user_id, name, email, context, page)


async def schedule(mentor: Person, base: str, title: str, starts_in: timedelta, **fields: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + starts_in).replace(microsecond=0)
    body = {
        "title": title, "domain_tags": ["python"], "description": "A browser-test session.",
        "start_at": start.isoformat().replace("+00:00", "Z"), "timezone": "UTC", "duration_minutes": 60,
        "price_paise": 0, "capacity": 1, **fields,
    }
    result = await call(mentor.context, base, "POST", "/api/sessions", body, expect_status=201)
    session: dict[str, Any] = result["session"]
    return session


def card(page: Page, title: str, within: str = "body") -> Locator:
    return page.locator(f"{within} [data-testid=session-card]").filter(has=page.get_by_role("heading", name=title))


def toast(page: Page, text: str) -> Locator:
    return page.locator("#toasts .toast").filter(has_text=text)


@dataclass
class Stage:
    """Everyone's browser contexts, closed after the test, and any uncaught error their pages threw."""

    contexts: list[BrowserContext] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="session")
async def stage(browser: Browser) -> AsyncIterator[Stage]:
    opened = Stage()
    yield opened
    for context in opened.contexts:
        await context.close()
    assert not opened.page_errors, f"uncaught errors in the pages: {opened.page_errors}"


async def open_people(
    browser: Browser, db: Database, base: str, stage: Stage, **learner_options: Any
) -> tuple[Person, Person]:
    # Two zones on purpose: each page must show times in its viewer's own zone.
    mentor = await person(
        browser, db, base, stage, Role.MENTOR, "maya@example.com", "Maya Mentor", timezone_id="Asia/Kolkata"
    )
    learner = await person(
        browser, db, base, stage, Role.LEARNER, "lena@example.com", "Lena Learner",
        timezone_id="Europe/Berlin", **learner_options,
    )
    return mentor, learner


def thumbnail(tmp_path: Path) -> Path:
    path = tmp_path / "thumbnail.png"
    image = Image.new("RGB", (320, 180), (59, 91, 219))
    for x in range(0, 320, 40):
        for y in range(180):
            image.putpixel((x, y), (255, 255, 255))
    image.save(path, format="PNG")
    return path


async def test_publish_then_a_booking_updates_the_mentor_card_live(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage, tmp_path: Path
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    page = mentor.page
    await page.goto(f"{base}/dashboard/mentor")
    await page.get_by_role("button", name="+ New session").click()
    form = page.locator("#create-session-form")
    await form.get_by_label("Title").fill("Async Python, live")
    await form.locator("label.chip", has_text="python").click()
    await form.get_by_label("Other tags").fill("asyncio")
    # The timezone defaults to the browser's (Chromium still says Calcutta); the schedule is read in it.
    await expect(form.get_by_label("Timezone")).to_have_value(re.compile(r"^Asia/(Kolkata|Calcutta)$"))
    day = await form.get_by_label("Date", exact=True).input_value()
    clock = await form.get_by_label("Time", exact=True).input_value()
    await form.get_by_label("Description").fill("Event loops, tasks and cancellation.")
    await form.locator('input[name="thumbnail"]').set_input_files(thumbnail(tmp_path))
    await expect(form.get_by_role("img", name="Thumbnail preview")).to_be_visible()
    await form.get_by_role("button", name="Publish Session ▶").click()

    await page.wait_for_url(f"{base}/dashboard/mentor?tab=upcoming")
    await expect(toast(page, "Session Scheduled ✔")).to_be_visible()
    await expect(page.get_by_role("tab", name="Upcoming")).to_have_attribute("aria-selected", "true")
    mine = card(page, "Async Python, live", "#my-sessions-list")
    await expect(mine.get_by_test_id("booked-badge")).to_have_text("Booked (0)")
    await expect(mine.get_by_role("button", name="Enter Room ▶")).to_be_disabled()
    await expect(mine.get_by_role("button", name="Go Live ▶")).to_be_disabled()
    await expect(mine.get_by_role("button", name="Edit ✎")).to_be_enabled()
    await expect(mine.locator(".thumb img")).to_have_attribute("src", re.compile(r"^/media/thumbnails/.+"))
    assert await mine.locator(".thumb img").evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    # The card reads the start in the viewer's zone; the server stored what the form meant in Kolkata.
    await expect(mine.locator("time")).to_contain_text("GMT+5:30")
    mine_json = await call(mentor.context, base, "GET", "/api/sessions/mine?tab=upcoming")
    created = next(s for s in mine_json["sessions"] if s["title"] == "Async Python, live")
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo("Asia/Kolkata"))
    assert created["start_at"] == local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert created["domain_tags"] == ["python", "asyncio"]
    assert created["price_paise"] == 0
    await page.evaluate("window.__sameDocument = true")

    await learner.page.goto(f"{base}/dashboard/learner")
    await learner.page.get_by_role("tab", name="Scheduled").click()
    offered = card(learner.page, "Async Python, live", "#browse-sessions")
    await expect(offered.locator("time")).to_contain_text(re.compile(r"GMT\+[12]|CES?T"))  # Berlin, winter or summer
    await expect(offered.locator(".price")).to_have_text("Free")
    await offered.get_by_role("button", name="Book ▶").click()
    await expect(offered.get_by_role("button", name="Booked ✔")).to_be_disabled()
    await expect(toast(learner.page, "Booked ✔")).to_be_visible()
    await expect(card(learner.page, "Async Python, live", "#booked-sessions")).to_be_visible()
    # The stored notification reaches the bell, but this tab already said "Booked ✔": no second toast.
    await expect(learner.page.locator("#notification-bell .bell-badge")).to_have_text("1")
    await expect(toast(learner.page, "Booking confirmed")).to_have_count(0)

    await expect(mine.get_by_test_id("booked-badge")).to_have_text("Booked (1)")
    await expect(mine.get_by_role("button", name="Enter Room ▶")).to_be_enabled()
    assert await page.evaluate("window.__sameDocument === true"), "the mentor page reloaded"


async def test_go_live_opens_fifteen_minutes_before_the_start(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, _learner = await open_people(browser, browser_db, base, stage)
    await schedule(mentor, base, "Two hours away", timedelta(hours=2))
    soon = await schedule(mentor, base, "Ten minutes away", timedelta(minutes=10))
    page = mentor.page
    await page.goto(f"{base}/dashboard/mentor")
    later_card = card(page, "Two hours away", "#my-sessions-list")
    soon_card = card(page, "Ten minutes away", "#my-sessions-list")
    await expect(later_card.get_by_role("button", name="Go Live ▶")).to_be_disabled()
    await expect(later_card.get_by_role("button", name="Edit ✎")).to_be_enabled()
    await expect(soon_card.get_by_role("button", name="Go Live ▶")).to_be_enabled()
    # Nobody booked: Enter Room ▶ waits for the first learner.
    await expect(soon_card.get_by_role("button", name="Enter Room ▶")).to_be_disabled()

    await soon_card.get_by_role("button", name="Go Live ▶").click()
    await page.wait_for_url(f"{base}/session/{soon['room_code']}/")
    gone_live = await call(mentor.context, base, "GET", f"/api/sessions/{soon['id']}")
    assert gone_live["session"]["status"] == "live"


async def test_a_conflict_from_the_server_shows_as_an_error_toast(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    session = await schedule(mentor, base, "One seat only", timedelta(hours=3), capacity=1)
    await learner.page.goto(f"{base}/dashboard/learner?tab=scheduled")
    offered = card(learner.page, "One seat only", "#browse-sessions")
    await expect(offered.get_by_role("button", name="Book ▶")).to_be_enabled()

    # Someone else takes the last seat while this page still offers it.
    rival = await person(browser, browser_db, base, stage, Role.LEARNER, "rita@example.com", "Rita Rival")
    await call(rival.context, base, "POST", f"/api/sessions/{session['id']}/bookings", {}, expect_status=201)

    bookings_url = f"/api/sessions/{session['id']}/bookings"
    async with learner.page.expect_response(lambda r: r.url.endswith(bookings_url)) as info:
        await offered.get_by_role("button", name="Book ▶").click()
    refused = await info.value
    assert refused.status == 409
    message = (await refused.json())["error"]
    await expect(learner.page.locator("#toasts .toast.error")).to_contain_text(message)
    # The card catches up with the server instead of offering the seat again.
    await expect(offered.get_by_role("button", name="Book ▶")).to_be_disabled()


async def test_request_live_round_trip(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    await mentor.page.goto(f"{base}/dashboard/mentor")
    incoming = mentor.page.locator("#live-request-list")
    await expect(incoming).to_contain_text("No pending requests.")

    page = learner.page
    await page.goto(f"{base}/dashboard/learner?request_live={mentor.id}")
    dialog = page.get_by_role("dialog", name="Request a live session with Maya Mentor")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Topic").fill("Review my rate limiter")
    await dialog.get_by_label("Message").fill("Token bucket in Redis, unsure about races.")
    await dialog.get_by_label("First choice").fill(f"{datetime.now(UTC) + timedelta(days=3):%Y-%m-%d}T18:30")
    await dialog.get_by_role("button", name="Send request ▶").click()
    await expect(toast(page, "Request sent ✔")).to_be_visible()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#my-request-list")).to_contain_text("Waiting for the mentor")

    request = incoming.locator(".request").filter(has_text="Review my rate limiter")
    await expect(request).to_contain_text("Lena Learner")
    await expect(toast(mentor.page, "New live request")).to_be_visible()
    await request.get_by_role("button", name="Decline").click()
    await expect(request).to_have_count(0)

    # The learner hears it on the open page: a toast, and the request's status.
    await expect(toast(page, "declined")).to_be_visible()
    await expect(page.locator("#my-request-list")).to_contain_text("Declined")


async def test_accepting_a_request_prefills_create_session(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    preferred = (datetime.now(UTC) + timedelta(days=30)).replace(hour=12, minute=30, second=0, microsecond=0)
    sent = await call(learner.context, base, "POST", "/api/live-requests", {
        "mentor_id": mentor.id, "topic": "Kafka consumer lag", "message": "Our lag grows at night.",
        "preferred_times": [preferred.strftime("%Y-%m-%dT%H:%M:%SZ")],
    }, expect_status=201)
    page = mentor.page
    await page.goto(f"{base}/dashboard/mentor")
    request = page.locator("#live-request-list .request").filter(has_text="Kafka consumer lag")
    await request.get_by_role("button", name="Accept ▶").click()

    form = page.locator("#create-session-form")
    await expect(form).to_be_visible()
    await expect(form.get_by_label("Title")).to_have_value(re.compile("Kafka consumer lag"))
    await expect(form.locator('input[name="live_request_id"]')).to_have_value(str(sent["live_request"]["id"]))
    assert f"create_from_request={sent['live_request']['id']}" in page.url
    await expect(toast(page, "Accepted. Schedule the session")).to_be_visible()
    # The learner's first preferred time becomes the proposed start, read in the mentor's zone.
    await expect(form.get_by_label("Date", exact=True)).to_have_value(f"{preferred:%Y-%m-%d}")
    await expect(form.get_by_label("Time", exact=True)).to_have_value("18:00")

    # A reload keeps the pre-filled form (?create_from_request=), and publishing schedules the request.
    await page.reload()
    await expect(form.get_by_label("Title")).to_have_value(re.compile("Kafka consumer lag"))
    await form.locator("label.chip", has_text="devops").click()
    await form.get_by_role("button", name="Publish Session ▶").click()
    await page.wait_for_url(f"{base}/dashboard/mentor?tab=upcoming")
    await expect(toast(page, "Session Scheduled ✔")).to_be_visible()
    await expect(card(page, "Kafka consumer lag", "#my-sessions-list")).to_be_visible()
    mine = await call(learner.context, base, "GET", "/api/live-requests")
    assert [r["status"] for r in mine["live_requests"]] == ["scheduled"]


async def test_book_link_asks_first_and_cards_stack_on_a_phone(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(
        browser, browser_db, base, stage, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    wanted = await schedule(mentor, base, "From the landing page", timedelta(hours=5))
    await schedule(mentor, base, "Another one", timedelta(hours=6))
    page = learner.page
    await page.goto(f"{base}/dashboard/learner?book={wanted['id']}")
    confirm = page.get_by_role("dialog", name="Book “From the landing page”?")
    await expect(confirm).to_be_visible()
    await confirm.get_by_role("button", name="Book ▶").click()
    offered = card(page, "From the landing page", "#browse-sessions")
    await expect(offered.get_by_role("button", name="Booked ✔")).to_be_visible()
    await expect(offered.get_by_role("button", name="Join ▶")).to_be_disabled()
    assert "book=" not in page.url

    boxes = [await c.bounding_box() for c in await page.locator("#browse-sessions [data-testid=session-card]").all()]
    assert len(boxes) == 2 and all(boxes)
    first, second = boxes[0], boxes[1]
    assert first is not None and second is not None
    assert first["x"] == second["x"] and second["y"] > first["y"], "cards should stack at phone width"
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_a_dropped_socket_shows_reconnecting_and_resumes(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    session = await schedule(mentor, base, "Survives a drop", timedelta(hours=4))
    page = mentor.page
    sockets: list[WebSocketRoute] = []
    opened = asyncio.Condition()

    async def relay(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        async with opened:
            sockets.append(ws)
            opened.notify_all()

    async def sockets_opened(count: int) -> None:
        async with asyncio.timeout(WAIT_MS / 1000), opened:
            await opened.wait_for(lambda: len(sockets) >= count)

    await page.route_web_socket(re.compile(r"/ws$"), relay)
    await page.goto(f"{base}/dashboard/mentor")
    await page.evaluate("""() => {
      window.__toasts = [];
      new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach(
        (n) => window.__toasts.push(n.firstChild?.textContent || "")))).observe(
        document.getElementById("toasts"), { childList: true });
    }""")
    mine = card(page, "Survives a drop", "#my-sessions-list")
    await expect(mine.get_by_test_id("booked-badge")).to_have_text("Booked (0)")
    await sockets_opened(1)

    await sockets[0].close(code=1012, reason="test drop")
    await page.wait_for_function("() => window.__toasts.includes('Reconnecting…')")
    await sockets_opened(2)
    await expect(toast(page, "Reconnecting…")).to_have_count(0)

    # The resumed socket still carries this session's events.
    await call(learner.context, base, "POST", f"/api/sessions/{session['id']}/bookings", {}, expect_status=201)
    await expect(mine.get_by_test_id("booked-badge")).to_have_text("Booked (1)")


async def test_edit_and_cancel_reach_the_booked_learner_live(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    session = await schedule(mentor, base, "Draft title", timedelta(hours=3), capacity=2)
    await call(learner.context, base, "POST", f"/api/sessions/{session['id']}/bookings", {}, expect_status=201)
    await learner.page.goto(f"{base}/dashboard/learner")
    booked = card(learner.page, "Draft title", "#booked-sessions")
    await expect(booked.get_by_role("button", name="Booked ✔")).to_be_visible()

    page = mentor.page
    await page.goto(f"{base}/dashboard/mentor")
    mine = card(page, "Draft title", "#my-sessions-list")
    await mine.get_by_role("button", name="Edit ✎").click()
    edit = page.get_by_role("form", name="Edit Draft title")
    await edit.get_by_label("Title").fill("Final title")
    await edit.get_by_role("button", name="Save changes").click()
    await expect(toast(page, "Session updated ✔")).to_be_visible()
    renamed = card(page, "Final title", "#my-sessions-list")
    await expect(renamed).to_be_visible()
    await expect(edit).to_have_count(0)
    # session_updated reaches the learner's open page.
    await expect(card(learner.page, "Final title", "#booked-sessions")).to_be_visible()

    await renamed.get_by_role("button", name="Cancel", exact=True).click()
    confirm = page.get_by_role("dialog", name="Cancel “Final title”?")
    await confirm.get_by_role("button", name="Keep it").click()
    await expect(confirm).to_have_count(0)
    await expect(renamed.get_by_role("button", name="Go Live ▶")).to_be_visible()
    await renamed.get_by_role("button", name="Cancel", exact=True).click()
    await confirm.get_by_role("button", name="Cancel session", exact=True).click()
    await expect(renamed.locator(".badge.status")).to_have_text("Cancelled")
    await expect(renamed.get_by_role("button", name="Go Live ▶")).to_be_hidden()
    learner_card = card(learner.page, "Final title", "#booked-sessions")
    await expect(learner_card.locator(".badge.status")).to_have_text("Cancelled")
    await expect(learner_card.get_by_role("button", name="Join ▶")).to_be_hidden()


async def test_publish_errors_show_next_to_their_field(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, _learner = await open_people(browser, browser_db, base, stage)
    page = mentor.page
    await page.goto(f"{base}/dashboard/mentor#create-session")
    form = page.locator("#create-session-form")
    await form.get_by_label("Title").fill("Yesterday's news")
    await form.locator("label.chip", has_text="career").click()
    await form.get_by_label("Date", exact=True).fill("2020-01-01")
    await form.get_by_role("button", name="Publish Session ▶").click()
    await expect(form.locator('[data-error-for="start_at"]')).to_have_text("The start must be in the future.")
    await expect(page.locator("#toasts .toast.error")).to_contain_text("The start must be in the future.")

    await form.get_by_label("Date", exact=True).fill(f"{datetime.now(UTC) + timedelta(days=30):%Y-%m-%d}")
    await form.get_by_label("Free session").uncheck()
    await form.get_by_label("Price (₹)").fill("0.5")
    await form.get_by_role("button", name="Publish Session ▶").click()
    await expect(form.locator('[data-error-for="price_paise"]')).to_contain_text("at least ₹1")
    assert page.url.endswith("#create-session"), "an error must not leave the page"


async def test_join_opens_when_the_mentor_goes_live(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    session = await schedule(mentor, base, "Starting early", timedelta(minutes=12))
    await call(learner.context, base, "POST", f"/api/sessions/{session['id']}/bookings", {}, expect_status=201)
    page = learner.page
    await page.goto(f"{base}/dashboard/learner")
    booked = card(page, "Starting early", "#booked-sessions")
    # Join opens 5 min before the start, which is 12 min away...
    await expect(booked.get_by_role("button", name="Join ▶")).to_be_disabled()
    await expect(booked.locator(".badge.live")).to_be_hidden()

    # ...or as soon as the mentor goes live, which the open page hears on sessions:{room_code}.
    await call(mentor.context, base, "POST", f"/api/sessions/{session['id']}/go-live", {})
    await expect(booked.locator(".badge.live")).to_be_visible()
    await expect(booked.get_by_role("button", name="Join ▶")).to_be_enabled()
    await booked.get_by_role("button", name="Join ▶").click()
    await page.wait_for_url(f"{base}/session/{session['room_code']}/")
