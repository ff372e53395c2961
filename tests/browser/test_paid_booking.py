"""A paid booking in a real Chromium: Book ▶, the sandbox's Checkout modal, and both dashboards updating live.

The learner pays in the Razorpay sandbox's Checkout iframe (served by the in-process sandbox on its
own loopback origin, exactly as real Checkout is a third-party frame); the server verifies the
handler's signature; the mentor's page, open in another browser context, sees its Booked badge move.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from models.clock import SystemClock
from models.db import Database
from models.enums import Role
from tests.support.api import LEARNER_FIELDS, MENTOR_FIELDS
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
PRICE = 49_900
CHECKOUT_FRAME = "iframe.razorpay-checkout-frame"
DECLINED = "Your payment could not be completed as this transaction was declined by the bank."


@dataclass(frozen=True)
class Person:
    id: int
    context: BrowserContext
    page: Page


async def csrf_token(context: BrowserContext, base: str) -> str:
    await context.request.get(f"{base}/healthz")
    return next(c["value"] for c in await context.cookies(base) if c["name"] == "csrf_token")


async def call(context: BrowserContext, base: str, method: str, path: str, body: Any = None,
               expect_status: int = 200) -> Any:
    headers = {} if method == "GET" else {"X-CSRF-Token": await csrf_token(context, base)}
    response = await context.request.fetch(f"{base}{path}", method=method, data=body, headers=headers)
    payload = await response.json()
    assert response.status == expect_status, f"{method} {path}: {response.status} {payload}"
    return payload


async def person(browser: Browser, db: Database, base: str, role: str, email: str, name: str) -> Person:
    fields = dict(LEARNER_FIELDS if role == Role.LEARNER else MENTOR_FIELDS)
    fields.update(email=email, name=name)
    user = await create_account(db, SystemClock(), fast_test_hasher(), role, fields)
    assert user.id is not None
    context = await browser.new_context()
    context.set_default_timeout(WAIT_MS)
    await call(context, base, "POST", "/api/auth/login", {"email": email, "password": fields["password"]})
    return Person(user.id, context, await context.new_page())


def card(page: Page, title: str, within: str) -> Locator:
    return page.locator(f"{within} [data-testid=session-card]").filter(has=page.get_by_role("heading", name=title))


def toast(page: Page, text: str) -> Locator:
    return page.locator("#toasts .toast").filter(has_text=text)


@pytest_asyncio.fixture(loop_scope="session")
async def people(browser: Browser, browser_db: Database, live_server: str) -> AsyncIterator[tuple[Person, Person]]:
    mentor = await person(browser, browser_db, live_server, Role.MENTOR, "maya@example.com", "Maya Mentor")
    learner = await person(browser, browser_db, live_server, Role.LEARNER, "lena@example.com", "Lena Learner")
    yield mentor, learner
    for someone in (mentor, learner):
        await someone.context.close()


async def schedule_paid(mentor: Person, base: str, title: str) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    body = {"title": title, "domain_tags": ["python"], "description": "A paid browser-test session.",
            "start_at": start.isoformat().replace("+00:00", "Z"), "timezone": "UTC", "duration_minutes": 60,
            "price_paise": PRICE, "capacity": 2}
    created: dict[str, Any] = (await call(mentor.context, base, "POST", "/api/sessions", body, 201))["session"]
    return created


async def open_paid_card(learner: Person, base: str, title: str) -> Locator:
    page = learner.page
    await page.goto(f"{base}/dashboard/learner")
    await page.get_by_role("tab", name="Scheduled").click()
    offered = card(page, title, "#browse-sessions")
    await expect(offered.locator(".price")).to_have_text("₹499.00")
    return offered


async def test_learner_pays_in_the_sandbox_modal_and_both_dashboards_update(
        people: tuple[Person, Person], live_server: str) -> None:
    base = live_server
    mentor, learner = people
    await schedule_paid(mentor, base, "Paid async Python")
    await mentor.page.goto(f"{base}/dashboard/mentor")
    mine = card(mentor.page, "Paid async Python", "#my-sessions-list")
    await expect(mine.get_by_test_id("booked-badge")).to_have_text("Booked (0)")
    await mentor.page.evaluate("window.__sameDocument = true")

    offered = await open_paid_card(learner, base, "Paid async Python")
    await offered.get_by_role("button", name="Book ▶").click()

    modal = learner.page.frame_locator(CHECKOUT_FRAME)
    await expect(modal.locator(".amount")).to_have_text("₹499.00")
    await expect(modal.locator(".customer")).to_contain_text("lena@example.com")
    # A hold is not a booking: the mentor's count waits for the payment.
    await expect(mine.get_by_test_id("booked-badge")).to_have_text("Booked (0)")
    await modal.locator("#sandbox-pay").click()

    await expect(learner.page.locator(CHECKOUT_FRAME)).to_have_count(0)
    await expect(offered.get_by_role("button", name="Booked ✔")).to_be_disabled()
    await expect(card(learner.page, "Paid async Python", "#booked-sessions")).to_be_visible()
    await expect(mine.get_by_test_id("booked-badge")).to_have_text("Booked (1)")
    await expect(toast(learner.page, "Booked ✔ “Paid async Python”")).to_be_visible()
    assert await mentor.page.evaluate("window.__sameDocument === true"), "the mentor page reloaded"
    bookings = await call(mentor.context, base, "GET", "/api/sessions/mine?tab=upcoming")
    assert bookings["sessions"][0]["booked_count"] == 1
    earnings = await call(mentor.context, base, "GET", "/api/payments/earnings")
    assert earnings["sessions"][0]["display"]["net"] == "₹499.00"
    # The dashboard's Earnings panel follows the booking live too.
    panel = mentor.page.locator("#earnings")
    await expect(panel.locator("tbody tr")).to_have_count(1)
    await expect(panel.locator("tbody tr td").nth(4)).to_have_text("₹499.00")
    await expect(panel.locator("[data-earnings-total]")).to_have_text("₹499.00")


async def test_a_declined_payment_closes_checkout_and_frees_the_seat(
        people: tuple[Person, Person], live_server: str) -> None:
    base = live_server
    mentor, learner = people
    session = await schedule_paid(mentor, base, "Paid but declined")
    offered = await open_paid_card(learner, base, "Paid but declined")
    await offered.get_by_role("button", name="Book ▶").click()

    await learner.page.frame_locator(CHECKOUT_FRAME).locator("#sandbox-fail").click()

    await expect(learner.page.locator(CHECKOUT_FRAME)).to_have_count(0)
    await expect(toast(learner.page, DECLINED)).to_be_visible()
    await expect(offered.get_by_role("button", name="Book ▶")).to_be_enabled()
    detail = await call(learner.context, base, "GET", f"/api/sessions/{session['id']}")
    assert detail["session"]["viewer"]["booking_status"] == "cancelled"
    assert detail["session"]["seats_left"] == 2


async def test_closing_checkout_releases_the_hold(people: tuple[Person, Person], live_server: str) -> None:
    base = live_server
    mentor, learner = people
    session = await schedule_paid(mentor, base, "Paid then closed")
    offered = await open_paid_card(learner, base, "Paid then closed")
    await offered.get_by_role("button", name="Book ▶").click()

    await learner.page.frame_locator(CHECKOUT_FRAME).locator("#sandbox-dismiss").click()

    await expect(learner.page.locator(CHECKOUT_FRAME)).to_have_count(0)
    await expect(toast(learner.page, "Payment cancelled")).to_be_visible()
    await expect(offered.get_by_role("button", name="Book ▶")).to_be_enabled()
    detail = await call(learner.context, base, "GET", f"/api/sessions/{session['id']}")
    assert detail["session"]["viewer"]["booking_status"] == "cancelled"
    assert detail["session"]["seats_left"] == 2
