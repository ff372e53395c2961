"""The room's edges: lobby presence, permission denied, a device lost mid-call, a network drop,
recording, observers, the after-the-end forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from playwright.async_api import Browser, FilePayload, WebSocketRoute, async_playwright, expect

from models.enums import Role
from tests.browser.room.conftest import PersonFactory, Room, api, screenshot
from tests.browser.room.test_room_call import enter_as_mentor_live, join_as_learner, tile, wait_for_frames
from tests.support.browser import chromium_args, chromium_executable

pytestmark = pytest.mark.browser

OpenRoom = Callable[..., Awaitable[Room]]


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def browser_without_fake_ui() -> AsyncIterator[Browser]:
    # A second shared Chromium for this folder: without --use-fake-ui-for-media-stream the context's
    # permissions decide (browser-testing notes); tests still open contexts of their own.
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=chromium_executable(), args=chromium_args(fake_ui=False))
        try:
            yield instance
        finally:
            await instance.close()


async def test_permission_denied_falls_back_to_audio_only(
    open_room: OpenRoom, browser_without_fake_ui: Browser
) -> None:
    room = await open_room(learners=1, learner_browser=browser_without_fake_ui)
    learner = room.learners[0]
    await learner.context.grant_permissions(["microphone"])
    await room.go_live()
    page = learner.page
    await page.goto(room.url)
    await expect(page.locator("#toasts .toast").filter(has_text="Video disabled.")).to_be_visible()
    await expect(page.locator("#preview-off-text")).to_have_text("Video disabled")
    await page.get_by_role("button", name="Join now").click()
    mentor = await enter_as_mentor_live(room)
    seen = tile(mentor, "Lena Learner")
    await expect(seen).to_have_attribute("data-camera-off", "true")
    await expect(seen).to_have_attribute("data-mic-muted", "false")
    assert room.page_errors == []


async def test_mentor_sees_waiting_learners_from_the_page_alone(open_room: OpenRoom) -> None:
    """The server's lobby presence: `learner.join` when a learner opens the page."""
    room = await open_room(learners=1)
    mentor = room.mentor.page
    await mentor.goto(room.url)
    waiting = mentor.locator("#waiting-learners")
    await expect(waiting).to_contain_text("No one has arrived yet.")
    learner = room.learners[0].page
    await learner.goto(room.url)
    await expect(learner.get_by_text("Waiting for Mentor to start session.")).to_be_visible()
    await mentor.wait_for_timeout(1500)
    await screenshot(mentor, "lobby-mentor-1280")
    await expect(waiting.get_by_text("Lena Learner")).to_be_visible()
    await learner.close()
    await expect(waiting).to_contain_text("No one has arrived yet.")


async def test_a_device_unplugged_mid_call_offers_the_remaining_ones(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    await wait_for_frames(mentor)
    # What Chromium does when a camera is unplugged: the track ends on its own.
    await learner.evaluate("""() => document.querySelector('.tile.mirror video').srcObject
        .getVideoTracks()[0].dispatchEvent(new Event('ended'))""")
    prompt = learner.get_by_role("alertdialog")
    await expect(prompt).to_contain_text("Camera/mic unavailable")
    await expect(tile(mentor, "Lena Learner")).to_have_attribute("data-camera-off", "true")
    await prompt.get_by_role("button", name="fake_device_0").click()
    await expect(prompt).to_be_hidden()
    await expect(tile(mentor, "Lena Learner")).to_have_attribute("data-camera-off", "false")
    assert room.page_errors == []


async def test_a_device_plugged_in_mid_call_does_not_unmute_the_microphone(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = room.learners[0].page
    # Keep the page's peer connections in reach: what the microphone sends is the fact under test.
    await learner.add_init_script("""(() => { const Native = window.RTCPeerConnection; window.__pcs = [];
        window.RTCPeerConnection = class extends Native {
          constructor(...args) { super(...args); window.__pcs.push(this); } }; })()""")
    await join_as_learner(room.learners[0], room)
    await wait_for_frames(mentor)
    await learner.get_by_role("button", name="Mute", exact=True).click()
    await expect(tile(mentor, "Lena Learner").get_by_role("img", name="Microphone muted")).to_be_visible()
    sending = """() => window.__pcs.flatMap((pc) => pc.getSenders())
        .filter((s) => s.track && s.track.kind === 'audio').map((s) => s.track.enabled)"""
    assert await learner.evaluate(sending) == [False]

    # A headset plugged in: the browser fires devicechange and the device lists are read again.
    await learner.evaluate("() => navigator.mediaDevices.dispatchEvent(new Event('devicechange'))")
    await learner.wait_for_timeout(500)

    assert await learner.evaluate(sending) == [False], "the muted microphone went live again"
    await expect(learner.get_by_role("button", name="Unmute")).to_be_visible()
    assert room.page_errors == []


async def test_a_network_drop_shows_one_reconnecting_toast_and_the_call_resumes(open_room: OpenRoom) -> None:
    """The others' view of the dropped participant needs `state: "reconnecting"` broadcast (not yet built)."""
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = room.learners[0].page
    sockets: dict[str, WebSocketRoute] = {}

    def relay(name: str) -> Callable[[WebSocketRoute], None]:
        def connect(ws: WebSocketRoute) -> None:
            ws.connect_to_server()
            sockets[name] = ws
        return connect

    await learner.route_web_socket(re.compile(r"/ws$"), relay("ws"))
    await learner.route_web_socket(re.compile(r"/rtc$"), relay("rtc"))
    await join_as_learner(room.learners[0], room)
    await wait_for_frames(mentor)
    await learner.evaluate("""() => { window.__toasts = [];
        new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach(
          (n) => window.__toasts.push(n.firstChild?.textContent || '')))).observe(
          document.getElementById('toasts'), { childList: true }); }""")
    await sockets["ws"].close(code=1012, reason="network drop")
    await sockets["rtc"].close(code=1012, reason="network drop")
    reconnecting = learner.locator("#toasts .toast").filter(has_text="Reconnecting…")
    await expect(reconnecting).to_have_count(1)
    await expect(tile(mentor, "Lena Learner")).to_have_attribute("data-reconnecting", "true")
    await expect(reconnecting).to_have_count(0, timeout=15_000)
    assert (await learner.evaluate("window.__toasts")).count("Reconnecting…") == 1
    await expect(tile(mentor, "Lena Learner")).to_have_attribute("data-reconnecting", "false")
    assert room.page_errors == []


async def test_everyone_sees_rec_while_the_session_records(open_room: OpenRoom) -> None:
    room = await open_room(learners=1, record=True)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    for page in (mentor, learner):
        await expect(page.locator("#rec-mark")).to_be_visible()
        await expect(page.locator("#elapsed")).to_have_attribute("aria-label", re.compile(r"Elapsed \d+:\d\d"))
    # Each participant's level, with its reason on hover (title) or tap.
    await expect(learner.locator(".levels .level")).to_have_count(2)
    await learner.locator(".levels .level").first.click()
    await expect(learner.locator(".level-reason")).to_contain_text("connection")
    assert room.page_errors == []


async def test_the_server_highlights_the_active_speaker(open_room: OpenRoom) -> None:
    """The server decides the active speaker from the audio-level header extension (`speaker` message)."""
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    await join_as_learner(room.learners[0], room)
    await expect(mentor.locator("#call-grid .tile.speaking")).to_have_count(1, timeout=15_000)


async def test_an_admin_observes_without_being_seen_or_counted(
    open_room: OpenRoom, people: PersonFactory
) -> None:
    """The join endpoint admits admins, shown with `observer: true` in participants."""
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    await join_as_learner(room.learners[0], room)
    admin = await people(Role.ADMIN, "ops@example.com", "Olga Ops")
    await admin.page.goto(room.url)
    await admin.page.get_by_role("button", name="Observe").click()
    await expect(admin.page.locator("#call")).to_be_visible()
    await expect(tile(admin.page, "Maya Mentor")).to_be_visible()
    await expect(admin.page.get_by_role("button", name="Mute")).to_have_count(0)
    await expect(mentor.locator("#attendee-count")).to_have_attribute("aria-label", "2 attendees")
    await expect(tile(mentor, "Olga Ops")).to_have_count(0)


async def test_after_the_end_the_learner_rates_and_the_mentor_uploads(open_room: OpenRoom) -> None:
    """The after-the-end forms, through the feedback and resources APIs."""
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    await mentor.get_by_role("button", name="End Session").click()
    await mentor.get_by_role("dialog").get_by_role("button", name="End Session").click()

    await learner.locator("label[for=rating-4]").click()
    await learner.get_by_label("Comment").fill("Clear and patient.")
    await learner.get_by_role("button", name="Submit feedback").click()
    await expect(learner.locator("#toasts .toast").filter(has_text="Thanks for your feedback")).to_be_visible()
    await learner.reload()
    await expect(learner.get_by_role("radio", name="4 stars")).to_be_checked()
    await expect(learner.get_by_label("Comment")).to_have_value("Clear and patient.")

    slides: FilePayload = {"name": "slides.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 slides"}
    await mentor.locator("#resource-files").set_input_files(files=[slides])
    await mentor.get_by_role("button", name="Upload").click()
    await expect(mentor.get_by_role("link", name="slides.pdf")).to_be_visible()


async def test_after_rating_the_learner_reads_until_when_it_can_be_edited(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    await api(room.mentor.context, room.base, "POST", f"/api/sessions/{room.session['id']}/end", {})
    learner = room.learners[0].page
    await learner.goto(room.url)

    await learner.locator("label[for=rating-5]").click()
    await learner.get_by_role("button", name="Submit feedback").click()

    await expect(learner.locator("#toasts .toast").filter(has_text="Thanks for your feedback")).to_be_visible()
    await expect(learner.get_by_role("button", name="Update feedback")).to_be_visible()
    await expect(learner.locator("#feedback-note")).to_contain_text("You can edit your feedback until")
    assert room.page_errors == []
