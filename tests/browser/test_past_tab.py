"""After the end, in Chromium: the learner rates from the Past tab, the rating reaches the mentor's cards,
and the mentor shares a resource from their own Past tab that the learner can then download."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from models.db import Database
from tests.browser.test_dashboards import Stage, call, card, open_people, schedule, toast

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture(loop_scope="session")
async def stage(browser: Browser) -> AsyncIterator[Stage]:
    opened = Stage()
    yield opened
    for context in opened.contexts:
        await context.close()
    assert not opened.page_errors, f"uncaught errors in the pages: {opened.page_errors}"


async def test_learner_rates_from_the_past_tab_and_the_mentor_card_shows_it(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage, tmp_path: Path
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    # Go Live opens 15 minutes before the start: run a session now and end it.
    ended = await schedule(mentor, base, "Debugging asyncio", timedelta(minutes=10))
    await call(learner.context, base, "POST", f"/api/sessions/{ended['id']}/bookings", {}, expect_status=201)
    await call(mentor.context, base, "POST", f"/api/sessions/{ended['id']}/go-live", {})
    await call(mentor.context, base, "POST", f"/api/sessions/{ended['id']}/end", {})
    await schedule(mentor, base, "Next week: profiling", timedelta(days=7))

    page = learner.page
    await page.goto(f"{base}/dashboard/learner")
    await page.get_by_role("tab", name="Past").click()
    past = card(page, "Debugging asyncio", "#past-sessions")
    await expect(past.get_by_text("No resources shared.")).to_be_visible()
    await past.get_by_role("button", name="Rate ▶").click()
    await past.get_by_label("4 stars").click()
    await past.get_by_label("Comment (optional)").fill("Clear walkthrough of the event loop.")
    await past.get_by_role("button", name="Submit rating").click()
    await expect(toast(page, "Thanks for rating")).to_be_visible()
    rated = card(page, "Debugging asyncio", "#past-sessions")
    await expect(rated.get_by_test_id("rated")).to_have_text("You rated ★4")
    await expect(rated.get_by_role("button", name="Edit rating ✎")).to_be_visible()

    # The mentor's card in Browse carries the new average and count.
    await page.get_by_role("tab", name="Scheduled").click()
    offered = card(page, "Next week: profiling", "#browse-sessions")
    await expect(offered.get_by_test_id("mentor-rating")).to_have_text("★ 4.0 (1)")

    # The mentor's Past tab: attendance, the rating and comment; Upload Resources shares a file.
    mpage = mentor.page
    await mpage.goto(f"{base}/dashboard/mentor?tab=past")
    mine = card(mpage, "Debugging asyncio", "#my-sessions-list")
    await expect(mine.get_by_test_id("attendance")).to_have_text("Booked 1 · Attended 0")
    await expect(mine.get_by_test_id("session-rating")).to_have_text("★ 4.0 (1)")
    await expect(mine.get_by_text("Clear walkthrough of the event loop.")).to_be_visible()
    notes = tmp_path / "event-loop notes.txt"
    notes.write_text("await everything\n")
    await mine.get_by_label("Resource file").set_input_files(notes)
    await mine.get_by_label("Resource title").fill("Event loop notes")
    await mine.get_by_role("button", name="Upload ⬆").click()
    await expect(toast(mpage, "Shared “Event loop notes”")).to_be_visible()
    await expect(card(mpage, "Debugging asyncio", "#my-sessions-list").get_by_role(
        "link", name="Event loop notes")).to_be_visible()

    await page.get_by_role("tab", name="Past").click()
    link = card(page, "Debugging asyncio", "#past-sessions").get_by_role("link", name="Event loop notes")
    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert download.suggested_filename == "event-loop notes.txt"
    saved = Path(await download.path())
    assert await asyncio.to_thread(saved.read_text) == "await everything\n"
