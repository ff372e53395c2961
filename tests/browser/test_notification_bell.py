"""The bell (notifications.js over realtime.js) in headless Chromium against the real hub."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from models.clock import ManualClock
from models.db import Database
from tests.integration.realtime.support import People, build_app, seed_people
from web.realtime.keys import BUS
from web.realtime.notifications import add_notification, publish_notifications

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"

# The two things the base layout provides: the bell element and the toast area (app.js's toast
# fills it); window.toasts records each toast's text and kind as it appears.
PAGE = """<!doctype html>
<html><body>
<div id="notification-bell" data-user-id="{user_id}"></div>
<div id="toasts"></div>
<script>
  window.toasts = [];
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach((node) =>
    window.toasts.push([node.firstChild.textContent, node.className.replace("toast ", "")]))))
    .observe(document.getElementById("toasts"), {{ childList: true }});
</script>
<script type="module">
  import {{ startNotifications }} from '/static/notifications.js';
  startNotifications();
</script>
</body></html>
"""


@pytest.fixture
def db(browser_db: Database) -> Database:
    return browser_db


@pytest_asyncio.fixture(loop_scope="session")
async def people(db: Database, clock: ManualClock) -> People:
    return await seed_people(db, clock)


@pytest.mark.browser
async def test_bell_counts_toasts_lists_and_marks_read(
    db: Database, clock: ManualClock, people: People, aiohttp_server: Callable[..., Awaitable[TestServer]],
    browser: Browser,
) -> None:
    user_id = people.booked.id
    assert user_id is not None
    app = build_app(db, clock)

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE.format(user_id=user_id), content_type="text/html")

    app.router.add_get("/bell", page)
    app.router.add_static("/static", STATIC)
    server = await aiohttp_server(app)
    base = f"http://{server.host}:{server.port}"
    async with db.session() as session:
        await add_notification(session, clock, user_id=user_id, kind="reminder", title="Earlier")
        await session.commit()

    context = await browser.new_context()
    tab = await context.new_page()
    errors: list[Any] = []
    tab.on("pageerror", lambda error: errors.append(error))
    login = await context.request.post(f"{base}/test/login", data={"uid": user_id, "role": "learner"})
    assert login.ok
    await tab.goto(f"{base}/bell")
    await tab.wait_for_selector("#notification-bell .bell-badge")
    assert await tab.inner_text("#notification-bell .bell-badge") == "1"
    # The socket is subscribed once the channel has a position in sessionStorage.
    await tab.wait_for_function(
        f"() => sessionStorage.getItem('mentorlive.realtime.notifications:{user_id}') !== null"
    )

    async with db.session() as session:
        note = await add_notification(
            session, clock, user_id=user_id, kind="booking_confirmed", title="Booked", body="Async Python"
        )
        await session.commit()
    await publish_notifications(app[BUS], [note])
    await tab.wait_for_function("() => window.toasts.length === 1")
    assert await tab.evaluate("window.toasts") == [["Booked: Async Python", "success"]]
    await tab.wait_for_function("() => document.querySelector('#notification-bell .bell-badge')?.textContent === '2'")

    await tab.click("#notification-bell .bell-button")
    await tab.wait_for_selector("#notification-bell .bell-list")
    titles = await tab.locator("#notification-bell .bell-item strong").all_inner_texts()
    assert titles == ["Booked", "Earlier"]
    await tab.wait_for_function("() => !document.querySelector('#notification-bell .bell-badge')")
    listed = await context.request.get(f"{base}/api/notifications")
    assert (await listed.json())["unread"] == 0
    await tab.mouse.click(400, 400)
    await tab.wait_for_selector("#notification-bell .bell-list", state="detached")
    assert errors == []
