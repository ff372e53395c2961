"""Two Chromium pages publish fake camera+mic through the SFU and decode each other's video."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Page

from media_server.testing.codec_audit import count_codec_use

pytestmark = pytest.mark.browser


async def decoded(page: Page) -> dict[str, int]:
    return await page.evaluate("window.sfuTest ? window.sfuTest.framesDecoded() : {}")


async def test_two_browsers_see_each_other_with_no_transcoding(browser: Browser, sfu_site) -> None:
    base, node, token = sfu_site
    with count_codec_use() as counter:
        pages = []
        for user in ("asha", "ravi"):
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(f"{base}/rtc/test?token={token(user)}")
            pages.append(page)
        for page in pages:
            await page.wait_for_function("() => window.sfuTest && window.sfuTest.ready", timeout=10_000)
        # Generous: the first pages of the browser run share 2 cores with the integration tests, and
        # twice in CI both decoders crawled (11-17 frames in 20 s); what is checked is that they decode.
        deadline = asyncio.get_running_loop().time() + 45
        while True:
            counts = [await decoded(p) for p in pages]
            if all(c and max(c.values()) >= 30 for c in counts):
                break
            assert asyncio.get_running_loop().time() < deadline, f"decoded frames so far: {counts}"
            await asyncio.sleep(0.25)
        room = node.rooms["browser-room"]
        forwarded = sum(s.forwarded for p in room.participants.values() for s in p.subscriptions.values())
        assert forwarded > 60
        assert counter.total == 0, counter.as_dict()
        labels = [await p.locator("figcaption").all_text_contents() for p in pages]
        assert all(any("camera" in text for text in page_labels) for page_labels in labels)
        for page in pages:
            await page.context.close()


async def test_a_dropped_signaling_socket_resumes_and_media_keeps_flowing(browser: Browser, sfu_site) -> None:
    base, node, token = sfu_site
    pages = []
    for user in ("asha", "ravi"):
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(f"{base}/rtc/test?token={token(user)}")
        await page.wait_for_function("() => window.sfuTest && window.sfuTest.ready", timeout=10_000)
        pages.append(page)
    first, second = pages
    await second.wait_for_function(
        "() => window.sfuTest.framesDecoded().then(c => Object.values(c).some(n => n > 10))", timeout=20_000)
    participant_id = await first.evaluate("window.sfuTest.client.participantId")
    await first.evaluate("""() => {
        window.resumed = false;
        window.sfuTest.client.addEventListener('reconnected', () => { window.resumed = true; });
        window.sfuTest.client.ws.close();
    }""")
    await first.wait_for_function("() => window.resumed === true", timeout=10_000)
    # The counter restarts if the page's connection was replaced meanwhile; media flowing on is what counts.
    before = max((await decoded(second)).values(), default=0)
    await second.wait_for_function(
        f"() => window.sfuTest.framesDecoded().then(c => Object.values(c).some(n => n > {before + 30}))",
        timeout=10_000)
    room = node.rooms["browser-room"]
    assert participant_id in room.participants and room.participants[participant_id].state == "active"
    for page in pages:
        await page.context.close()
