"""The Recommended tab in a real Chromium: each card says why it was picked, and opening one is logged."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, expect
from sqlmodel import select

from models.db import Database
from models.tables import RecEvent
from tests.browser.test_dashboards import Stage, card, open_people, schedule, stage  # noqa: F401


async def test_recommended_cards_explain_themselves_and_opening_one_is_logged(
    browser: Browser, browser_db: Database, live_server: str, stage: Stage  # noqa: F811
) -> None:
    mentor, learner = await open_people(browser, browser_db, live_server, stage)
    await schedule(mentor, live_server, "Python for the web", timedelta(hours=5), domain_tags=["python"])
    page = learner.page
    await page.goto(f"{live_server}/dashboard/learner")
    offered = card(page, "Python for the web", "#browse-sessions")
    await expect(offered.get_by_test_id("rec-reason")).to_have_text("Because you're into python")
    await page.get_by_role("tab", name="Scheduled").click()
    await expect(card(page, "Python for the web", "#browse-sessions").get_by_test_id("rec-reason")).to_have_count(0)

    await page.get_by_role("tab", name="Recommended").click()
    # The Scheduled tab's card (not a recommendation, so not logged) stays until the Recommended list arrives.
    recommended = card(page, "Python for the web", "#browse-sessions")
    await expect(recommended.get_by_test_id("rec-reason")).to_have_text("Because you're into python")
    await recommended.get_by_role("heading").click()

    async def opened() -> list[RecEvent]:
        async with browser_db.session() as s:
            return list((await s.exec(select(RecEvent).where(RecEvent.kind == "open"))).all())

    for _ in range(200):  # written in batches about once a second; a loaded machine may take longer
        if await opened():
            break
        await page.wait_for_timeout(100)
    events = await opened()
    assert [(e.position, e.tab, e.surface) for e in events] == [(0, "recommended", "learner_dashboard")]
