"""Chromium subscribers of the raw RTP path: what their own statistics say about our streams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from media_server.testing.codec_audit import count_codec_use

pytestmark = pytest.mark.browser

STATS = """async () => {
  const report = await window.sfuTest.client.pc.getStats();
  const out = [];
  report.forEach((s) => { if (s.type === "inbound-rtp" || s.type === "remote-outbound-rtp") out.push(s); });
  return JSON.parse(JSON.stringify(out));
}"""


async def video_stats(page: Page, mid: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The page's inbound video on the m-line `mid` (the subscription's current one: a page can
    also hold an earlier m-line's stopped stream, whose counts end where it stopped)."""
    for _ in range(20):
        stats = await page.evaluate(STATS)
        inbound = next(
            (s for s in stats if s["type"] == "inbound-rtp" and s.get("kind") == "video" and s.get("mid") == mid), None
        )
        if inbound is not None:
            break
        await asyncio.sleep(0.25)
    assert inbound is not None, (mid, stats)
    remote = next((s for s in stats if s["type"] == "remote-outbound-rtp" and s["id"] == inbound.get("remoteId")), None)
    return inbound, remote


async def test_chromium_subscriber_statistics_match_what_the_raw_path_sent(browser: Browser, sfu_site) -> None:
    base, node, token = sfu_site
    assert node.settings.forwarding == "raw"
    with count_codec_use() as counter:
        pages = []
        for user in ("asha", "ravi"):
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(f"{base}/rtc/test?token={token(user)}")
            pages.append(page)
        for page in pages:
            await page.wait_for_function("window.sfuTest && window.sfuTest.ready", timeout=10_000)
        # Let several sender reports (every 0.5-1.5 s) reach each page.
        await asyncio.sleep(6)
        room = node.rooms["browser-room"]
        for page in pages:
            await page.wait_for_function(
                "window.sfuTest.framesDecoded().then(c => Object.values(c).some(n => n > 60))", timeout=15_000
            )
            user = await page.evaluate("window.sfuTest.client.participantId")
            subscriber = room.participants[user]
            video = next(s for s in subscriber.subscriptions.values() if s.kind == "video")
            assert video.egress is not None and video.raw_active, "the raw path served this subscriber"
            inbound, remote = await video_stats(page, video.mid)
            sent_frames, sent_packets = video.egress.frames, video.egress.packets
            # Frame counts: what Chromium decoded is what we sent (minus the last in flight).
            every_video = [
                (s.get("mid"), s.get("ssrc"), s.get("framesDecoded"))
                for s in await page.evaluate(STATS)
                if s["type"] == "inbound-rtp" and s.get("kind") == "video"
            ]
            assert inbound["framesDecoded"] >= sent_frames - 15, (inbound, sent_frames, every_video)
            assert inbound["framesDecoded"] <= sent_frames
            # Chromium drops frames when its own decoder lags on a loaded machine: CI's 2 cores, shared
            # with the other worker, saw 6 of 109 and 3 freezes. The SFU's own faults show as lost
            # packets and a long jitter buffer (below), which a busy decoder does not cause.
            assert inbound.get("framesDropped", 0) <= max(8, inbound["framesDecoded"] // 10), inbound
            assert inbound["packetsLost"] == 0
            # Freezes likewise (CI saw 3, then 5, with no packet lost): bounded by the share of the
            # playing time they took, which a stalled forwarder would blow and a busy decoder does not.
            playing = inbound.get("totalInterFrameDelay") or 1.0
            frozen = inbound.get("totalFreezesDuration", 0.0)
            assert inbound.get("freezeCount", 0) <= 8 and frozen / playing < 0.25, inbound
            # No jitter-buffer anomaly: a timestamp jump or a bad RTP/NTP mapping shows as a long buffer.
            emitted = inbound.get("jitterBufferEmittedCount") or 1
            assert inbound["jitterBufferDelay"] / emitted < 0.25, inbound
            # Sender reports: Chromium's view of them agrees with what we sent.
            assert remote is not None, "sender reports reached the page"
            assert remote["reportsSent"] >= 2
            assert 0 < remote["packetsSent"] <= sent_packets
            assert remote["packetsSent"] >= inbound["packetsReceived"] - 100, (remote, inbound)
            assert remote["bytesSent"] > remote["packetsSent"] * 100
        assert counter.total == 0, counter.as_dict()
        for page in pages:
            await page.context.close()
