"""Pages run under the Content-Security-Policy: the watch on every browser test (tests/browser/conftest.py)
fails a test whose pages break it; this shows the watch sees a violation, and that pages load clean."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import CspWatch

pytestmark = pytest.mark.browser


async def test_an_inline_script_is_refused_and_reported(
    browser: Browser, live_server: str, csp_watch: CspWatch
) -> None:
    page = await browser.new_page()
    await page.goto(live_server + "/")
    await page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.head.appendChild(script);
    }""")
    await page.wait_for_timeout(200)
    assert await page.evaluate("window.injected === undefined")
    assert any("inline script" in v or "script-src" in v for v in csp_watch.violations), csp_watch.violations
    csp_watch.violations.clear()


async def test_landing_login_and_signup_load_clean(browser: Browser, live_server: str, csp_watch: CspWatch) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    for path in ("/", "/login", "/signup/learner", "/signup/mentor", "/no-such-page"):
        await page.goto(live_server + path)
        await page.wait_for_load_state("networkidle")
    await expect(page.locator("body")).to_be_visible()
    assert csp_watch.violations == []
