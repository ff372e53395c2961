"""In a real Chromium: a learner cancels and moves a booking from the card (the mentor's count follows live),
and every page fits a phone: no sideways scroll at 360-390 px, thumbnails stay in their box.

"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from models.clock import SystemClock
from models.db import Database
from models.enums import Role
from tests.support.api import LEARNER_FIELDS, MENTOR_FIELDS
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account
from web.payments.runtime import PAYMENTS

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
PHONES = (360, 390)


@dataclass(frozen=True)
class Person:
    id: int
    context: BrowserContext
    page: Page


async def csrf_token(context: BrowserContext, base: str) -> str:
    await context.request.get(f"{base}/healthz")
    return next(c["value"] for c in await context.cookies(base) if c["name"] == "csrf_token")


async def call(context: BrowserContext, base: str, method: str, path: str, body: Any = None,
               expect_status: int = 200, **options: Any) -> Any:
    headers = {} if method == "GET" else {"X-CSRF-Token": await csrf_token(context, base)}
    response = await context.request.fetch(f"{base}{path}", method=method, data=body, headers=headers, **options)
    payload = await response.json()
    assert response.status == expect_status, f"{method} {path}: {response.status} {payload}"
    return payload


async def person(browser: Browser, db: Database, base: str, role: str, email: str, name: str) -> Person:
    fields: dict[str, Any] = {} if role == Role.ADMIN else dict(LEARNER_FIELDS if role == Role.LEARNER
                                                                 else MENTOR_FIELDS)
    fields.update(email=email, name=name, password="correct horse battery")
    user = await create_account(db, SystemClock(), fast_test_hasher(), role, fields)
    assert user.id is not None
    context = await browser.new_context(locale="en-US")
    context.set_default_timeout(WAIT_MS)
    await call(context, base, "POST", "/api/auth/login", {"email": email, "password": fields["password"]})
    return Person(user.id, context, await context.new_page())


def card(page: Page, title: str, within: str) -> Locator:
    return page.locator(f"{within} [data-testid=session-card]").filter(has=page.get_by_role("heading", name=title))


def toast(page: Page, text: str) -> Locator:
    return page.locator("#toasts .toast").filter(has_text=text)


def wide_thumbnail() -> bytes:
    image = Image.new("RGB", (1600, 900), (59, 91, 219))
    for x in range(0, 1600, 80):
        for y in range(900):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def session_body(title: str, hours: float, **extra: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)
    body: dict[str, Any] = {"title": title, "domain_tags": ["python"], "description": "A browser-test session.",
                            "start_at": start.isoformat().replace("+00:00", "Z"), "timezone": "UTC",
                            "duration_minutes": 60, "price_paise": 0, "capacity": 3}
    body.update(extra)
    return body


@dataclass
class Cast:
    base: str
    app: web.Application
    mentor: Person
    learner: Person
    admin: Person
    sessions: dict[str, dict[str, Any]]


@pytest_asyncio.fixture(loop_scope="session")
async def cast(browser: Browser, browser_db: Database, browser_app: web.Application,
               live_server: str) -> AsyncIterator[Cast]:
    base = live_server
    mentor = await person(browser, browser_db, base, Role.MENTOR, "maya@example.com", "Maya Mentor")
    learner = await person(browser, browser_db, base, Role.LEARNER, "lena@example.com", "Lena Learner")
    admin = await person(browser, browser_db, base, Role.ADMIN, "root@example.com", "Root Admin")
    sessions: dict[str, dict[str, Any]] = {}
    for key, body in {
        "first": session_body("Async Python, first run", 30),
        "second": session_body("Async Python, second run", 54),
        "paid": session_body("Paid code review", 72, price_paise=49_900),
    }.items():
        sessions[key] = (await call(mentor.context, base, "POST", "/api/sessions", body, 201))["session"]
    # A 16:9 upload, sent as the Create Session form sends it.
    fields = {k: str(v) for k, v in session_body("A very wide thumbnail indeed", 80).items() if k != "domain_tags"}
    form: dict[str, Any] = {**fields, "domain_tags": "design",
                            "thumbnail": {"name": "wide.png", "mimeType": "image/png", "buffer": wide_thumbnail()}}
    created = await call(mentor.context, base, "POST", "/api/sessions", None, 201, multipart=form)
    sessions["thumb"] = created["session"]
    yield Cast(base, browser_app, mentor, learner, admin, sessions)
    for someone in (mentor, learner, admin):
        await someone.context.close()


async def booked_badge(cast: Cast, title: str) -> Locator:
    return card(cast.mentor.page, title, "#my-sessions-list").get_by_test_id("booked-badge")


async def test_learner_cancels_and_moves_from_the_card_and_the_mentor_sees_it_live(cast: Cast) -> None:
    base, learner, mentor = cast.base, cast.learner, cast.mentor
    first, second = cast.sessions["first"], cast.sessions["second"]
    await call(learner.context, base, "POST", f"/api/sessions/{first['id']}/bookings", {}, 201)
    await mentor.page.goto(f"{base}/dashboard/mentor")
    await expect(await booked_badge(cast, first["title"])).to_have_text("Booked (1)")
    await learner.page.goto(f"{base}/dashboard/learner")
    mine = card(learner.page, first["title"], "#booked-sessions")

    # Move: the dialog offers the mentor's other session; both badges follow on the mentor's open page.
    await mine.get_by_role("button", name="Move").click()
    dialog = learner.page.get_by_role("dialog", name=f"Move your booking of “{first['title']}”")
    await expect(dialog.get_by_role("radio", name=second["title"], exact=False)).to_be_checked()
    await dialog.get_by_role("button", name="Move booking").click()
    await expect(toast(learner.page, f"Booking moved to “{second['title']}”")).to_be_visible()
    await expect(card(learner.page, second["title"], "#booked-sessions")).to_be_visible()
    await expect(card(learner.page, first["title"], "#booked-sessions")).to_have_count(0)
    await expect(await booked_badge(cast, first["title"])).to_have_text("Booked (0)")
    await expect(await booked_badge(cast, second["title"])).to_have_text("Booked (1)")

    # Cancel: the policy is stated first; "Keep it" changes nothing.
    moved = card(learner.page, second["title"], "#booked-sessions")
    await moved.get_by_role("button", name="Cancel booking").click()
    confirm = learner.page.get_by_role("dialog", name=f"Cancel your booking of “{second['title']}”?")
    await expect(confirm).to_contain_text("Your seat goes back to other learners.")
    await confirm.get_by_role("button", name="Keep it").click()
    await expect(await booked_badge(cast, second["title"])).to_have_text("Booked (1)")
    await moved.get_by_role("button", name="Cancel booking").click()
    await confirm.get_by_role("button", name="Cancel booking").click()
    await expect(toast(learner.page, f"Booking of “{second['title']}” cancelled.")).to_be_visible()
    await expect(card(learner.page, second["title"], "#booked-sessions")).to_have_count(0)
    await expect(await booked_badge(cast, second["title"])).to_have_text("Booked (0)")
    await learner.page.get_by_role("tab", name="Scheduled").click()
    offered = card(learner.page, second["title"], "#browse-sessions")
    await expect(offered.get_by_role("button", name="Book ▶")).to_be_enabled()
    await expect(offered.get_by_role("button", name="Cancel booking")).to_be_hidden()


async def test_a_paid_booking_states_its_full_refund_before_the_learner_confirms(cast: Cast) -> None:
    base, learner = cast.base, cast.learner
    paid = cast.sessions["paid"]
    held = await call(learner.context, base, "POST", f"/api/sessions/{paid['id']}/bookings", {}, 201)
    server = cast.app[PAYMENTS].sandbox_server
    assert server is not None
    fields = await server.sandbox.pay_order(held["checkout"]["order_id"])
    await call(learner.context, base, "POST", "/api/payments/verify", fields)
    await learner.page.goto(f"{base}/dashboard/learner")
    mine = card(learner.page, paid["title"], "#booked-sessions")

    await mine.get_by_role("button", name="Cancel booking").click()
    confirm = learner.page.get_by_role("dialog", name=f"Cancel your booking of “{paid['title']}”?")
    await expect(confirm).to_contain_text("You get a full refund of ₹499.00.")
    await confirm.get_by_role("button", name="Cancel booking").click()
    await expect(toast(learner.page, "₹499.00 is on its way back to you.")).to_be_visible()


async def no_sideways_scroll(page: Page, width: int, url: str) -> None:
    await page.set_viewport_size({"width": width, "height": 800})
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    overflow = await page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll("body *")]
          .filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > width + 0.5)
          .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
        return { scroll: document.documentElement.scrollWidth, width, wide };
    }""")
    assert overflow["scroll"] <= overflow["width"], f"{url} at {width}px scrolls sideways: {overflow}"


async def test_every_page_fits_a_phone_without_sideways_scroll(cast: Cast, browser: Browser) -> None:
    base = cast.base
    await call(cast.learner.context, base, "POST", f"/api/sessions/{cast.sessions['first']['id']}/bookings", {}, 201)
    visitor = await browser.new_context(locale="en-US")
    pages = [
        (visitor, ["/", "/login", "/signup/learner", "/signup/mentor", "/no-such-page"]),
        (cast.learner.context, ["/", "/dashboard/learner", "/dashboard/mentor", "/session/no-such-room/"]),
        (cast.mentor.context, ["/dashboard/mentor", f"/session/{cast.sessions['first']['room_code']}/"]),
        (cast.admin.context, ["/dashboard/admin"]),
    ]
    for context, paths in pages:
        page = await context.new_page()
        for width in PHONES:
            for path in paths:
                await no_sideways_scroll(page, width, f"{base}{path}")
        await page.close()


async def test_thumbnails_stay_in_their_box_at_every_width(cast: Cast) -> None:
    page = cast.learner.page
    title = cast.sessions["thumb"]["title"]
    for width in (1280, 760, 390, 360):
        await page.set_viewport_size({"width": width, "height": 900})
        for path, within in (("/", "#upcoming-sessions"), ("/dashboard/learner?tab=scheduled", "#browse-sessions")):
            await page.goto(f"{cast.base}{path}")
            shown = page.locator(f"{within} .session-card").filter(has=page.get_by_role("heading", name=title))
            image = shown.locator(".thumb img")
            await expect(image).to_be_visible()
            await image.evaluate("img => img.decode()")
            box, thumb = await image.bounding_box(), await shown.locator(".thumb").bounding_box()
            heading = await shown.get_by_role("heading", name=title).bounding_box()
            assert box and thumb and heading
            assert box["height"] <= thumb["height"] + 0.5 and box["width"] <= thumb["width"] + 0.5, (width, path)
            assert thumb["y"] + thumb["height"] <= heading["y"], f"the thumbnail covers the title at {width}px"


async def test_messages_match_a_live_session_and_the_room_the_learner_is_in(cast: Cast, browser: Browser,
                                                                            browser_db: Database) -> None:
    base, mentor, learner = cast.base, cast.mentor, cast.learner
    soon = (await call(mentor.context, base, "POST", "/api/sessions",
                       session_body("Starting right now", 4 / 60), 201))["session"]
    await call(mentor.context, base, "POST", f"/api/sessions/{soon['id']}/go-live", {})

    # Booking a session that is already live says Join is open, not when it opens; no "starts soon" follows.
    await learner.page.goto(f"{base}/dashboard/learner")
    await learner.page.get_by_role("tab", name="Live Now").click()
    offered = card(learner.page, soon["title"], "#browse-sessions")
    await offered.get_by_role("button", name="Book ▶").click()
    await expect(toast(learner.page, "It is live now: Join ▶ is open.")).to_be_visible()
    await expect(offered.get_by_role("button", name="Join ▶")).to_be_enabled()
    await expect(learner.page.locator("#notification-bell .bell-badge")).to_have_text("1")
    await expect(toast(learner.page, "Join opens 5 minutes")).to_have_count(0)
    await expect(toast(learner.page, "starts soon")).to_have_count(0)

    # A second learner waits in the room before the mentor goes live: the bell counts the notification,
    # and no toast sends them to the page they are already on.
    later = (await call(mentor.context, base, "POST", "/api/sessions",
                        session_body("Waiting in the lobby", 4 / 60), 201))["session"]
    leo = await person(browser, browser_db, base, Role.LEARNER, "leo@example.com", "Leo Learner")
    try:
        await call(leo.context, base, "POST", f"/api/sessions/{later['id']}/bookings", {}, 201)
        await leo.page.goto(f"{base}/session/{later['room_code']}/")
        badge = leo.page.locator("#notification-bell .bell-badge")
        await expect(badge).to_have_text("1")  # "Booking confirmed"
        await call(mentor.context, base, "POST", f"/api/sessions/{later['id']}/go-live", {})
        await expect(badge).to_have_text("2")
        await expect(toast(leo.page, "Your session is live")).to_have_count(0)
    finally:
        await leo.context.close()
