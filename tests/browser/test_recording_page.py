"""In Chromium: a recorded session's recording on the mentor's Past card (Download) and on the session page
(an HTML5 player that seeks through the Range-serving download), shared with the learner by a tick."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, expect

from models.db import Database
from tests.browser.test_dashboards import Stage, call, card, open_people, schedule
from tests.integration.recordings.synthetic import report_windows
from web.jobs import JOB_RUNNER

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture(loop_scope="session")
async def stage(browser: Browser) -> AsyncIterator[Stage]:
    opened = Stage()
    yield opened
    for context in opened.contexts:
        await context.close()
    assert not opened.page_errors, f"uncaught errors in the pages: {opened.page_errors}"


async def test_mentor_plays_and_downloads_the_recording_and_shares_it(
    browser: Browser, browser_db: Database, browser_app: web.Application, live_server: str, stage: Stage
) -> None:
    base = live_server
    mentor, learner = await open_people(browser, browser_db, base, stage)
    session = await schedule(mentor, base, "Recorded walkthrough", timedelta(minutes=10), record=True)
    sid = session["id"]
    await call(learner.context, base, "POST", f"/api/sessions/{sid}/bookings", {}, expect_status=201)
    await call(mentor.context, base, "POST", f"/api/sessions/{sid}/go-live", {})
    me = await call(mentor.context, base, "GET", "/api/me")
    people = [(str(me["id"]), "Maya Mentor", "mentor")]
    await report_windows(browser_app, session["room_code"], people, windows=3, length=1.0)
    await call(mentor.context, base, "POST", f"/api/sessions/{sid}/end", {})
    await browser_app[JOB_RUNNER].run_due()

    page = mentor.page
    await page.goto(f"{base}/dashboard/mentor?tab=past")
    mine = card(page, "Recorded walkthrough", "#my-sessions-list")
    await expect(mine.get_by_role("link", name="Download ⬇")).to_be_visible()
    await expect(mine.get_by_role("link", name="Raw tracks (zip)")).to_be_visible()

    await page.goto(f"{base}/session/{session['room_code']}/")
    player = page.get_by_label("Session recording")
    await expect(player).to_be_visible()
    duration = await player.evaluate("v => new Promise(ok => v.readyState >= 1 ? ok(v.duration)"
                                     " : v.addEventListener('loadedmetadata', () => ok(v.duration)))")
    assert abs(duration - 3.0) < 0.2
    # Seeking asks the server for a byte range and lands where it was asked.
    landed = await player.evaluate("v => new Promise(ok => { v.addEventListener('seeked', () => ok(v.currentTime),"
                                   " { once: true }); v.currentTime = 2.0; })")
    assert abs(landed - 2.0) < 0.2

    # Not shared yet: the learner's Past card shows no recording; after the tick it does.
    await learner.page.goto(f"{base}/dashboard/learner")
    await learner.page.get_by_role("tab", name="Past").click()
    theirs = card(learner.page, "Recorded walkthrough", "#past-sessions")
    await expect(theirs.get_by_text("No resources shared.")).to_be_visible()
    await expect(theirs.get_by_test_id("recording")).to_be_hidden()
    await page.get_by_label("Share the recording with attendees").check()
    await expect(page.get_by_text("Attendees can now watch the recording.")).to_be_visible()
    await learner.page.reload()
    await learner.page.get_by_role("tab", name="Past").click()
    theirs = card(learner.page, "Recorded walkthrough", "#past-sessions")
    await expect(theirs.get_by_role("link", name="Download ⬇")).to_be_visible()
    await expect(theirs.get_by_role("link", name="Raw tracks (zip)")).to_have_count(0)
