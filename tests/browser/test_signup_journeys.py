"""From a protected call to action, through the Auth-Selector modal and a wizard, to the right place."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from models.clock import SystemClock
from models.db import Database
from models.tables import MentorSession
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account

pytestmark = pytest.mark.browser


async def seed_session(db: Database) -> int:
    mentor = await create_account(db, SystemClock(), fast_test_hasher(), "mentor", {
        "email": "host@example.com", "name": "Hosting Mentor", "password": "mentor1234", "expertise": ["python"],
    })
    now = datetime.now(UTC)
    async with db.session() as s:
        session = MentorSession(mentor_id=mentor.id or 0, title="Async Python live", domain_tags=["python"],
                                start_at=now + timedelta(days=1), room_code="room-seed-1", created_at=now,
                                updated_at=now)
        s.add(session)
        await s.commit()
        assert session.id is not None
        return session.id


async def fill_learner_wizard(page: Page, email: str) -> None:
    await expect(page.locator("#step-counter")).to_have_text("Step 1 of 4")
    await page.fill("input[name=name]", "Lena Learner")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "learn1234")
    await page.click("#wizard-next")
    await expect(page.locator("#step-counter")).to_have_text("Step 2 of 4")
    await page.fill("fieldset[data-step='2'] input[name=headline]", "Student")
    await page.click("#wizard-next")
    await expect(page.locator("#step-counter")).to_have_text("Step 3 of 4")
    await page.click("#wizard-next")  # nothing picked yet: the server refuses the step
    await expect(page.locator("[data-error-for=interests]")).to_contain_text("Choose at least 1")
    await page.check("[data-tags-for=interests] input[value=python]")
    await page.click("#wizard-next")
    await expect(page.locator("#step-counter")).to_have_text("Step 4 of 4")
    await page.fill("textarea[name=goals]", "Ship a backend")
    await page.check("fieldset[data-step='4'] input[name=accept_terms]")
    await page.click("#wizard-next")


async def test_book_cta_opens_modal_then_learner_wizard_returns_to_booking(
    browser: Browser, live_server: str, browser_db: Database
) -> None:
    session_id = await seed_session(browser_db)
    page = await browser.new_page()
    await page.goto(live_server + "/")
    await page.click(f"article[data-session-id='{session_id}'] [data-protected=book]")
    modal = page.locator("#auth-selector")
    await expect(modal).to_be_visible()
    await expect(modal).to_contain_text("I already have an account")
    await page.click("#choose-learner")
    await page.wait_for_url("**/signup/learner?next=*")
    await fill_learner_wizard(page, "lena@example.com")
    await page.wait_for_url(f"**/dashboard/learner?book={session_id}")
    await expect(page.locator("h1")).to_contain_text("Hi Lena Learner")


async def test_go_live_cta_leads_through_the_five_step_mentor_wizard(browser: Browser, live_server: str) -> None:
    page = await browser.new_page()
    await page.goto(live_server + "/")
    await page.click("[data-protected=go-live]")
    await page.click("#choose-mentor")
    await page.wait_for_url("**/signup/mentor?next=*")
    await page.fill("input[name=name]", "Maya Mentor")
    await page.fill("input[name=email]", "maya@example.com")
    await page.fill("input[name=password]", "weak")
    await page.click("#wizard-next")
    await expect(page.locator("[data-error-for=password]")).to_contain_text("at least 8 characters")
    await page.fill("input[name=password]", "mentor1234")
    await page.click("#wizard-next")
    await expect(page.locator("#step-counter")).to_have_text("Step 2 of 5")
    await page.fill("fieldset[data-step='2'] input[name=headline]", "Principal engineer")
    await page.fill("textarea[name=bio]", "Twenty years building distributed systems.")
    await page.click("#wizard-next")
    await expect(page.locator("#step-counter")).to_have_text("Step 3 of 5")
    # Back keeps what was typed.
    await page.click("#wizard-back")
    await expect(page.locator("textarea[name=bio]")).to_have_value("Twenty years building distributed systems.")
    await page.click("#wizard-next")
    await page.check("[data-tags-for=expertise] input[value='system design']")
    await page.click("#wizard-next")
    await expect(page.locator("#step-counter")).to_have_text("Step 4 of 5")
    # A reload keeps the step and the fields; the password waits server-side as a hash.
    await page.reload()
    await expect(page.locator("#step-counter")).to_have_text("Step 4 of 5")
    await page.fill("input[name=default_price_rupees]", "499")
    await page.click("#wizard-next")
    await expect(page.locator("#step-counter")).to_have_text("Step 5 of 5")
    await page.fill("input[name=payout_account]", "maya@okbank")
    await page.check("fieldset[data-step='5'] input[name=accept_terms]")
    await page.click("#wizard-next")
    await page.wait_for_url("**/dashboard/mentor")
    me = await page.evaluate("fetch('/api/me').then(r => r.json())")
    assert me["role"] == "mentor"
    assert me["profile"]["default_price_paise"] == 49900
    assert me["profile"]["expertise"] == ["system design"]


async def test_taken_email_is_refused_at_the_last_step_and_shown_on_the_first(
    browser: Browser, live_server: str, browser_db: Database
) -> None:
    """Step 1 says nothing about whether an email has an account (anyone could probe it there); finishing
    the wizard with a taken email takes the learner back to step 1 with the reason."""
    await seed_session(browser_db)
    page = await browser.new_page()
    await page.goto(live_server + "/signup/learner")
    await fill_learner_wizard(page, "host@example.com")
    await expect(page.locator("[data-error-for=email]")).to_contain_text("already exists")
    await expect(page.locator("#step-counter")).to_have_text("Step 1 of 4")


async def test_login_routes_every_role_and_protects_dashboards(
    browser: Browser, live_server: str, browser_db: Database
) -> None:
    clock, hasher = SystemClock(), fast_test_hasher()
    for role, email in (("learner", "l@example.com"), ("mentor", "m@example.com"), ("admin", "a@example.com")):
        await create_account(browser_db, clock, hasher, role, {"email": email, "name": role.title(),
                                                               "password": "pass12345"})
    for role, email in (("learner", "l@example.com"), ("mentor", "m@example.com"), ("admin", "a@example.com")):
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(live_server + "/dashboard/" + role)
        await page.wait_for_url("**/login?next=**")
        await page.fill("#login-form input[name=email]", email)
        await page.fill("#login-form input[name=password]", "wrong-pass1")
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#login-error")).to_have_text("Email or password is incorrect.")
        await page.fill("#login-form input[name=password]", "pass12345")
        await page.click("#login-form button[type=submit]")
        await page.wait_for_url(re.compile(rf"^{live_server}/dashboard/{role}$"))
        other = "mentor" if role != "mentor" else "learner"
        response = await page.goto(live_server + f"/dashboard/{other}")
        assert response is not None and response.status == 403
        await context.close()


async def test_layout_fits_a_phone(browser: Browser, live_server: str, browser_db: Database) -> None:
    await seed_session(browser_db)
    context = await browser.new_context(viewport={"width": 375, "height": 740})
    page = await context.new_page()
    await page.goto(live_server + "/")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await page.click("[data-protected=book]")
    await expect(page.locator("#auth-selector")).to_be_visible()
    await context.close()
