"""The room page end to end: green room, lobby, the call through the real SFU, chat, whiteboard,
screen share, End Session and the after-the-end screens, in headless Chromium with fake devices."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.room.conftest import PHONE, Person, Room, screenshot

pytestmark = pytest.mark.browser

OpenRoom = Callable[..., Awaitable[Room]]


async def decoded_frames(page: Page) -> int:
    """Frames decoded from remote cameras, summed over every tile's <video> (what the user sees)."""
    return int(await page.evaluate("""() => [...document.querySelectorAll('#call-grid .tile video')]
        .filter((v) => v.srcObject && !v.closest('.tile').classList.contains('mirror'))
        .reduce((sum, v) => sum + (v.getVideoPlaybackQuality?.().totalVideoFrames || 0), 0)"""))


async def wait_for_frames(page: Page, more_than: int = 30, within: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (count := await decoded_frames(page)) <= more_than:
        assert asyncio.get_running_loop().time() < deadline, f"decoded frames: {count}"
        await asyncio.sleep(0.25)


def tile(page: Page, name: str) -> Locator:
    return page.locator("#call-grid .tile:not(.screen-tile)").filter(has_text=name)


async def enter_as_mentor(room: Room, page: Page | None = None) -> Page:
    page = page or room.mentor.page
    await page.goto(room.url)
    await expect(page.get_by_role("heading", name="Ready to join?")).to_be_visible()
    await page.get_by_role("button", name="Start Session ▶").click()
    await expect(page.locator("#call")).to_be_visible()
    return page


async def join_as_learner(learner: Person, room: Room) -> Page:
    page = learner.page
    await page.goto(room.url)
    await page.get_by_role("button", name="Join now").click()
    # A join is a socket, an offer and ICE: on a loaded CI machine with three Chromiums, over 5 s.
    await expect(page.locator("#call")).to_be_visible(timeout=20_000)
    return page


async def test_green_room_then_both_sides_decode_each_others_video(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    learner = room.learners[0]
    # Before the start: the learner waits in the green room with a live preview and pickers.
    await learner.page.goto(room.url)
    await expect(learner.page.get_by_text("Waiting for Mentor to start session.")).to_be_visible()
    await learner.page.wait_for_function("() => document.getElementById('preview-video').readyState >= 2")
    await expect(learner.page.get_by_label("Camera", exact=True)).to_be_enabled()
    await screenshot(learner.page, "green-room-learner-1280")

    mentor = await enter_as_mentor(room)
    # Start Session ▶ started media for the waiting learner too.
    await expect(learner.page.locator("#call")).to_be_visible()
    for page in (mentor, learner.page):
        await wait_for_frames(page)
    await expect(tile(mentor, "Lena Learner")).to_be_visible()
    await expect(tile(learner.page, "Maya Mentor")).to_be_visible()
    await expect(mentor.locator("#attendee-count")).to_have_attribute("aria-label", "2 attendees")
    await screenshot(mentor, "call-two-people-1280")
    assert room.page_errors == []


async def test_mute_and_camera_off_show_on_the_other_side(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    await wait_for_frames(mentor)
    seen = tile(mentor, "Lena Learner")
    await expect(seen).to_have_attribute("data-mic-muted", "false")

    await learner.get_by_role("button", name="Mute", exact=True).click()
    await expect(learner.get_by_role("button", name="Unmute")).to_be_visible()
    await expect(seen.get_by_role("img", name="Microphone muted")).to_be_visible()
    await learner.get_by_role("button", name="Camera off").click()
    await expect(learner.get_by_role("button", name="Camera on")).to_be_visible()
    await expect(seen).to_have_attribute("data-camera-off", "true")
    await expect(seen.locator(".tile-off .avatar")).to_have_text("LL")

    await learner.get_by_role("button", name="Unmute").click()
    await learner.get_by_role("button", name="Camera on").click()
    await expect(seen.get_by_role("img", name="Microphone muted")).to_be_hidden()
    await expect(seen).to_have_attribute("data-camera-off", "false")
    assert room.page_errors == []


async def test_chat_and_whiteboard_round_trip_and_reach_a_late_joiner(open_room: OpenRoom) -> None:
    room = await open_room(learners=2)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    first = await join_as_learner(room.learners[0], room)
    await expect(tile(mentor, "Lena Learner")).to_be_visible()

    # A message while the panel is closed counts as unread on the other side.
    await mentor.get_by_role("button", name="Chat").click()
    await mentor.get_by_label("Message", exact=True).fill("Welcome! Questions any time.")
    await mentor.get_by_label("Message", exact=True).press("Enter")
    await expect(first.locator("#chat-unread")).to_have_text("1")
    await first.get_by_role("button", name="Chat").click()
    await expect(first.locator("#chat-unread")).to_be_hidden()
    message = first.locator(".chat-msg").filter(has_text="Welcome! Questions any time.")
    await expect(message.locator(".chat-name")).to_have_text("Maya Mentor")
    await expect(message.locator("time")).not_to_be_empty()
    await screenshot(first, "chat-open-1280")

    # A stroke on the mentor's board is drawn on the learner's.
    await mentor.get_by_role("button", name="Whiteboard").click()
    await first.get_by_role("button", name="Whiteboard").click()
    board = mentor.locator("canvas.board-canvas")
    box = await board.bounding_box()
    assert box is not None
    await mentor.mouse.move(box["x"] + 40, box["y"] + 40)
    await mentor.mouse.down()
    for step in range(1, 20):
        await mentor.mouse.move(box["x"] + 40 + step * 12, box["y"] + 40 + step * 6)
    await mentor.mouse.up()
    await first.wait_for_function("() => Number(document.querySelector('canvas.board-canvas').dataset.strokes) > 0")
    assert await inked_pixels(first) > 50
    await screenshot(mentor, "whiteboard-open-1280")

    # Someone who joins later gets the chat and the drawing so far.
    late = await join_as_learner(room.learners[1], room)
    await late.get_by_role("button", name="Chat").click()
    await expect(late.locator(".chat-msg").filter(has_text="Welcome! Questions any time.")).to_be_visible()
    await late.get_by_role("button", name="Whiteboard").click()
    await late.wait_for_function("() => Number(document.querySelector('canvas.board-canvas').dataset.strokes) > 0")
    assert await inked_pixels(late) > 50
    assert room.page_errors == []


async def inked_pixels(page: Page) -> int:
    return int(await page.evaluate("""() => {
        const canvas = document.querySelector('canvas.board-canvas');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked += 1;
        return inked;
    }"""))


async def enter_as_mentor_live(room: Room) -> Page:
    page = room.mentor.page
    await page.goto(room.url)
    await page.get_by_role("button", name="Join now").click()
    await expect(page.locator("#call")).to_be_visible()
    return page


async def test_a_screen_share_appears_large_and_goes_away(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    await wait_for_frames(learner)

    await mentor.get_by_role("button", name="Share screen").click()
    await expect(mentor.get_by_role("button", name="Stop sharing")).to_be_visible()
    screen = learner.locator(".screen-tile")
    await expect(screen).to_be_visible()
    await expect(screen).to_have_attribute("aria-label", "Maya Mentor's screen")
    await expect(learner.locator("#call-grid")).to_have_class("call-grid has-screen")
    await learner.wait_for_function(
        "() => document.querySelector('.screen-tile video').getVideoPlaybackQuality().totalVideoFrames > 5")
    screen_box, camera_box = await screen.bounding_box(), await tile(learner, "Maya Mentor").bounding_box()
    assert screen_box and camera_box and screen_box["width"] > 2 * camera_box["width"]
    await screenshot(learner, "screen-share-1280")

    # Stopping from the browser's own bar ends the track: the page treats it as the button.
    await mentor.evaluate("document.querySelector('.screen-tile video').srcObject.getVideoTracks()[0]"
                          ".dispatchEvent(new Event('ended'))")
    await expect(mentor.get_by_role("button", name="Share screen")).to_be_visible()
    await expect(screen).to_have_count(0)
    assert room.page_errors == []


async def test_end_session_ends_everyones_call_and_shows_the_after_screens(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    await expect(tile(mentor, "Lena Learner")).to_be_visible()

    await mentor.get_by_role("button", name="End Session").click()
    dialog = mentor.get_by_role("dialog")
    await expect(dialog).to_contain_text("End the session for everyone?")
    await dialog.get_by_role("button", name="End Session").click()

    await expect(mentor.get_by_role("heading", name="Upload Resources")).to_be_visible()
    await expect(learner.get_by_role("heading", name="Rate Your Mentor")).to_be_visible()
    await expect(learner.locator("#call")).to_be_hidden()
    # Media stopped: no live local track is left on either page.
    for page in (mentor, learner):
        await page.wait_for_function("() => !document.querySelector('#call-grid video')")
    await expect(learner.get_by_role("radio", name="5 stars")).to_be_attached()
    await expect(learner.get_by_label("Comment")).to_be_visible()
    await screenshot(mentor, "ended-mentor-1280")
    await screenshot(learner, "ended-learner-1280")
    session = await api_get(room, f"/api/sessions/{room.session['id']}")
    assert session["session"]["status"] == "ended"
    # A reload shows the true state: ended.
    await learner.reload()
    await expect(learner.get_by_role("heading", name="Rate Your Mentor")).to_be_visible()
    assert room.page_errors == []


async def api_get(room: Room, path: str) -> Any:
    response = await room.mentor.context.request.get(f"{room.base}{path}")
    return await response.json()


async def test_a_third_person_joining_and_leaving_shows_on_everyone_elses_page(open_room: OpenRoom) -> None:
    """Arrivals and departures reach the others one participant at a time; the pages keep the room's
    list from those (tiles and the attendee count), as they did from whole lists."""
    room = await open_room(learners=2)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    lena = await join_as_learner(room.learners[0], room)
    ravi = await join_as_learner(room.learners[1], room)
    for page, others in ((mentor, ("Lena Learner", "Ravi Rao")), (lena, ("Maya Mentor", "Ravi Rao"))):
        for name in others:
            await expect(tile(page, name)).to_be_visible()
        await expect(page.locator("#attendee-count")).to_have_attribute("aria-label", "3 attendees")
    await expect(tile(ravi, "Lena Learner")).to_be_visible()
    await screenshot(mentor, "call-three-people-1280")

    await ravi.get_by_role("button", name="Leave").click()
    for page in (mentor, lena):
        await expect(tile(page, "Ravi Rao")).to_be_hidden()
        await expect(page.locator("#attendee-count")).to_have_attribute("aria-label", "2 attendees")
    await expect(tile(mentor, "Lena Learner")).to_be_visible()
    await wait_for_frames(mentor, more_than=await decoded_frames(mentor) + 10)
    assert room.page_errors == []


async def test_a_reload_during_the_call_goes_straight_back_in(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    await learner.get_by_role("button", name="Mute", exact=True).click()
    await learner.reload()
    await expect(learner.locator("#call")).to_be_visible()
    await expect(learner.get_by_role("heading", name="Ready to join?")).to_be_hidden()
    await expect(learner.get_by_role("button", name="Unmute")).to_be_visible()
    await wait_for_frames(mentor, more_than=10)
    assert room.page_errors == []


async def test_the_phone_layout_stacks_the_videos(open_room: OpenRoom) -> None:
    room = await open_room(learners=1, learner_options={"viewport": PHONE, "is_mobile": True, "has_touch": True})
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = room.learners[0].page
    await learner.goto(room.url)
    await learner.wait_for_function("() => document.getElementById('preview-video').readyState >= 2")
    await screenshot(learner, "green-room-390")
    await learner.get_by_role("button", name="Join now").click()
    await wait_for_frames(learner)
    boxes = [await tile(learner, name).bounding_box() for name in ("Maya Mentor", "Lena Learner")]
    assert boxes[0] and boxes[1] and boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"] - 1, boxes
    await screenshot(learner, "call-two-people-390")
    await learner.get_by_role("button", name="Chat").click()
    panel = learner.locator("#side-panel")
    panel_box = await panel.bounding_box()
    assert panel_box and panel_box["width"] == PHONE["width"]
    await screenshot(learner, "chat-open-390")
    await learner.get_by_role("button", name="Close chat").click()
    await learner.get_by_role("button", name="Whiteboard").click()
    await screenshot(learner, "whiteboard-open-390")
    await learner.get_by_role("button", name="Close whiteboard").click()
    await mentor.get_by_role("button", name="End Session").click()
    await mentor.get_by_role("dialog").get_by_role("button", name="End Session").click()
    await expect(learner.get_by_role("heading", name="Rate Your Mentor")).to_be_visible()
    await screenshot(learner, "ended-learner-390")
    assert room.page_errors == []


async def test_a_chat_flood_shows_one_too_fast_toast_and_the_others_keep_the_call(open_room: OpenRoom) -> None:
    room = await open_room(learners=1)
    await room.go_live()
    mentor = await enter_as_mentor_live(room)
    learner = await join_as_learner(room.learners[0], room)
    await expect(tile(mentor, "Lena Learner")).to_be_visible()
    await learner.get_by_role("button", name="Chat").click()
    box = learner.get_by_label("Message", exact=True)
    await box.fill("line 0")
    await box.press("Enter")
    # Then 60 lines at once, as a stuck key or a script would: far past the chat rate's burst and refill.
    await learner.evaluate("""() => {
        const input = document.querySelector('[aria-label="Message"]');
        for (let n = 1; n <= 60; n++) {
            input.value = `line ${n}`;
            input.form.requestSubmit();
        }
    }""")
    refusal = learner.locator(".toast").filter(has_text="You're sending messages too fast")
    await expect(refusal).to_have_count(1)  # one toast kept up, not one per refused line
    # The mentor was not disconnected by the flood: the call and the accepted lines are there.
    await mentor.get_by_role("button", name="Chat").click()
    await expect(mentor.locator(".chat-msg").filter(has_text="line 0")).to_be_visible()
    await expect(tile(mentor, "Lena Learner")).to_be_visible()
    await expect(mentor.get_by_text("Disconnected")).to_have_count(0)
