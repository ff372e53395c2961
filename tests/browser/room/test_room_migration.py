"""Two Chromium participants in a room whose media node is drained keep seeing each other on the other node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from media_server import MediaSettings
from media_server.testing.nodes import OtherNode, RunningNode, start_node
from tests.browser.room.conftest import Room
from tests.browser.room.test_room_call import decoded_frames, enter_as_mentor, join_as_learner, wait_for_frames
from web import keys
from web.middlewares import CONTENT_SECURITY, socket_origins
from web.room.keys import MEDIA_NODE

pytestmark = pytest.mark.browser

OpenRoom = Callable[..., Awaitable[Room]]


@pytest_asyncio.fixture(loop_scope="session")
async def second_node(browser_app: web.Application, live_server: str, tmp_path: Path) -> AsyncIterator[RunningNode]:
    settings = MediaSettings(ice_hosts=("127.0.0.1",), recordings_dir=tmp_path / "node-b")
    node = await start_node("node-b", browser_app[keys.SECRET], settings)
    # As an operator lists its media nodes in `[media] node_origins`: the pages' CSP lets them connect.
    browser_app[CONTENT_SECURITY].allow("connect-src", *socket_origins(node.url))
    try:
        yield node
    finally:
        await node.stop()


async def test_a_drained_room_keeps_both_pages_seeing_each_other(
    open_room: OpenRoom, browser_app: web.Application, second_node: RunningNode
) -> None:
    room = await open_room(learners=1)
    mentor = await enter_as_mentor(room)
    learner = await join_as_learner(room.learners[0], room)
    await wait_for_frames(mentor)
    await wait_for_frames(learner)
    tiles_before = [await p.locator("#call-grid .tile").count() for p in (mentor, learner)]
    await learner.evaluate("""() => { window.__toasts = [];
        new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach(
          (n) => window.__toasts.push(n.textContent || '')))).observe(
          document.getElementById('toasts'), { childList: true }); }""")

    embedded = browser_app[MEDIA_NODE]
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(embedded.drain(OtherNode([second_node]), loop.time() + 15), 30)

    assert embedded.rooms == {}, "every participant left the drained node"
    moved = second_node.node.rooms[room.session["room_code"]]
    assert moved.attendees() == 2
    for page in (mentor, learner):
        # Frames keep coming, now from node b; the grid kept its tiles.
        await wait_for_frames(page, more_than=await decoded_frames(page) + 30)
    assert [await p.locator("#call-grid .tile").count() for p in (mentor, learner)] == tiles_before
    await expect(learner.locator("#call")).to_be_visible()
    toasts = await learner.evaluate("() => window.__toasts")
    assert not [t for t in toasts if "Disconnected" in t], toasts
    assert room.page_errors == []


async def test_when_the_rooms_node_dies_both_pages_rejoin_through_a_fresh_grant(
    open_room: OpenRoom, browser_app: web.Application, second_node: RunningNode
) -> None:
    room = await open_room(learners=1)
    mentor = await enter_as_mentor(room)
    learner = await join_as_learner(room.learners[0], room)
    await wait_for_frames(learner)
    # The room moves to node b; the embedded node then serves again (the registry's allocation is out of
    # scope here: the join-token API points at the embedded node).
    embedded = browser_app[MEDIA_NODE]
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(embedded.drain(OtherNode([second_node]), loop.time() + 15), 30)
    embedded.draining = False
    for page in (mentor, learner):
        await page.get_by_role("button", name="Chat").click()
    await mentor.get_by_label("Message", exact=True).fill("said before the crash")
    await mentor.get_by_label("Message", exact=True).press("Enter")
    await expect(learner.locator(".chat-msg").filter(has_text="said before the crash")).to_be_visible()

    await second_node.kill()

    # Resumes against the dead node fail; each page asks the web app for a fresh grant and joins there.
    code = room.session["room_code"]
    deadline = loop.time() + 30
    while code not in embedded.rooms or embedded.rooms[code].attendees() < 2:
        assert loop.time() < deadline, "both pages rejoined on the embedded node"
        await asyncio.sleep(0.25)
    for page in (mentor, learner):
        await wait_for_frames(page, more_than=await decoded_frames(page) + 30, within=30)
    # The chat the page showed is kept, and the reopened room's own lines still arrive.
    await expect(learner.locator(".chat-msg").filter(has_text="said before the crash")).to_be_visible()
    await mentor.get_by_label("Message", exact=True).fill("said after the crash")
    await mentor.get_by_label("Message", exact=True).press("Enter")
    await expect(learner.locator(".chat-msg").filter(has_text="said after the crash")).to_be_visible()
    await expect(learner.locator("#call")).to_be_visible()
    assert room.page_errors == []
