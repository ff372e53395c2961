"""Finding a mentor in a real Chromium: the mentor page (reached from a card's mentor name, edited from the
dashboard), Browse's search kept in the URL, and a scheduled live request booked from the request list.
Screenshots of the mentor page at 1280 and 390 px go to /work/screens12/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from models.db import Database
from models.enums import Role
from tests.browser.test_dashboards import Stage, call, card, person, schedule, thumbnail

pytestmark = pytest.mark.browser

SCREENS = Path("/work/screens12")


@pytest.fixture
def screens() -> Path:
    return SCREENS


@pytest_asyncio.fixture(loop_scope="session")
async def people_stage(browser: Browser) -> AsyncIterator[Stage]:
    opened = Stage()
    yield opened
    for context in opened.contexts:
        await context.close()
    assert not opened.page_errors, f"uncaught errors in the pages: {opened.page_errors}"


async def no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


async def test_mentor_page_from_a_card_with_the_profile_edited_on_the_dashboard(
    browser: Browser, browser_db: Database, live_server: str, people_stage: Stage, tmp_path: Path, screens: Path
) -> None:
    base = live_server
    mentor = await person(browser, browser_db, base, people_stage, Role.MENTOR, "maya@example.com", "Maya Mentor")
    learner = await person(browser, browser_db, base, people_stage, Role.LEARNER, "lena@example.com", "Lena Learner")
    await schedule(mentor, base, "Designing resilient APIs", timedelta(days=1), domain_tags=["system design"])
    await schedule(mentor, base, "Python packaging", timedelta(days=2), price_paise=49900, capacity=5)

    page = mentor.page
    await page.goto(f"{base}/dashboard/mentor#my-profile")
    form = page.locator("#profile-form")
    await expect(form.get_by_label("Headline")).to_have_value("Principal engineer")
    await form.get_by_label("Headline").fill("Staff engineer · distributed systems")
    await form.get_by_label("Years of experience").fill("15")
    await form.locator("#profile-photo").set_input_files(thumbnail(tmp_path))
    await form.get_by_role("button", name="Save profile").click()
    await expect(page.locator("#toasts .toast", has_text="Profile saved.")).to_be_visible()
    await expect(page.locator("#profile-photo-preview img")).to_have_attribute("src", re.compile("/media/photos/"))

    page = learner.page
    await page.goto(f"{base}/dashboard/learner?tab=scheduled")
    await card(page, "Designing resilient APIs", "#browse-sessions").get_by_test_id("mentor-link").click()
    await expect(page).to_have_url(f"{base}/mentors/{mentor.id}")
    await expect(page.locator("#mentor-name")).to_have_text("Maya Mentor")
    await expect(page.locator("#mentor-headline")).to_have_text("Staff engineer · distributed systems")
    await expect(page.locator("#mentor-years")).to_have_text("15 years of experience")
    await expect(page.locator("#mentor-photo")).to_be_visible()
    await expect(page.locator("#mentor-sessions [data-testid=session-card]")).to_have_count(2)
    await expect(page.locator("#share-url")).to_have_text(f"{base}/mentors/{mentor.id}")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.screenshot(path=str(screens / "mentor-page-1280.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await no_sideways_scroll(page)
    await page.screenshot(path=str(screens / "mentor-page-390.png"), full_page=True)

    # Book ▶ from the mentor page leads to the dashboard's booking of that session.
    await page.set_viewport_size({"width": 1280, "height": 900})
    await card(page, "Designing resilient APIs", "#mentor-sessions").get_by_role("button", name="Book ▶").click()
    await expect(page).to_have_url(re.compile(r"/dashboard/learner"))
    await page.get_by_role("dialog").get_by_role("button", name="Book ▶").click()
    await expect(card(page, "Designing resilient APIs", "#browse-sessions").get_by_role(
        "button", name="Booked ✔")).to_be_visible()
    await expect(card(page, "Designing resilient APIs", "#browse-sessions").get_by_test_id(
        "add-to-calendar")).to_have_attribute("href", re.compile(r"/api/bookings/\d+/calendar.ics"))

    # The mentor dashboard with the profile editor, on a phone.
    page = mentor.page
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{base}/dashboard/mentor#my-profile")
    await expect(page.locator("#profile-photo-preview img")).to_be_visible()
    await page.locator("#my-profile").screenshot(path=str(screens / "mentor-profile-editor-390.png"))


async def test_browse_search_and_filters_are_kept_in_the_url(
    browser: Browser, browser_db: Database, live_server: str, people_stage: Stage, screens: Path
) -> None:
    base = live_server
    mentor = await person(browser, browser_db, base, people_stage, Role.MENTOR, "maya@example.com", "Maya Mentor")
    learner = await person(browser, browser_db, base, people_stage, Role.LEARNER, "lena@example.com", "Lena Learner")
    await schedule(mentor, base, "Designing resilient APIs", timedelta(days=1), domain_tags=["system design"])
    await schedule(mentor, base, "Python packaging", timedelta(days=2), price_paise=49900)
    await schedule(mentor, base, "Python testing", timedelta(days=3))
    page = learner.page
    await page.goto(f"{base}/dashboard/learner")
    await page.get_by_label("Search", exact=True).fill("python")
    await expect(page).to_have_url(re.compile(r"[?&]q=python"))
    await expect(page.locator("#tab-scheduled")).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#browse-sessions [data-testid=session-card]")).to_have_count(2)
    await page.get_by_label("Price").select_option("free")
    await expect(page.locator("#browse-sessions [data-testid=session-card]")).to_have_count(1)
    await expect(card(page, "Python testing", "#browse-sessions")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Search", exact=True)).to_have_value("python")
    await expect(page.get_by_label("Price")).to_have_value("free")
    await expect(page.locator("#browse-sessions [data-testid=session-card]")).to_have_count(1)
    await page.set_viewport_size({"width": 390, "height": 844})
    await no_sideways_scroll(page)
    await page.locator("#learner-dashboard").screenshot(path=str(screens / "browse-filters-390.png"))
    await page.get_by_role("button", name="Clear").click()
    await expect(page.locator("#browse-sessions [data-testid=session-card]")).to_have_count(3)


async def test_a_scheduled_request_shows_live_with_a_link_and_books_in_one_click(
    browser: Browser, browser_db: Database, live_server: str, people_stage: Stage
) -> None:
    base = live_server
    mentor = await person(browser, browser_db, base, people_stage, Role.MENTOR, "maya@example.com", "Maya Mentor")
    learner = await person(browser, browser_db, base, people_stage, Role.LEARNER, "lena@example.com", "Lena Learner")
    sent = await call(learner.context, base, "POST", "/api/live-requests",
                      {"mentor_id": mentor.id, "topic": "Help with asyncio"}, expect_status=201)
    request_id = sent["live_request"]["id"]
    await call(mentor.context, base, "POST", f"/api/live-requests/{request_id}/accept")
    page = learner.page
    await page.goto(f"{base}/dashboard/learner")
    row = page.locator(f'#my-request-list [data-request-id="{request_id}"]')
    await expect(row.locator(".badge")).to_have_text("Accepted: being scheduled")
    session = await schedule(mentor, base, "Asyncio, as you asked", timedelta(days=1), live_request_id=request_id)
    await expect(row.locator(".badge")).to_have_text("Scheduled")  # live, no reload
    link = row.get_by_test_id("scheduled-session-link")
    await expect(link).to_have_attribute("href", f"/mentors/{mentor.id}#session-{session['id']}")
    await row.get_by_role("button", name="Book ▶").click()
    await expect(row.get_by_role("button", name="Booked ✔")).to_be_visible()
    await expect(card(page, "Asyncio, as you asked", "#booked-sessions")).to_be_visible()
    await link.click()
    await expect(page.locator(f"#session-{session['id']}")).to_contain_text("Booked ✔")
