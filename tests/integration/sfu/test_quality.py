"""Quality levels from real RTCP statistics: clean, lossy, recovered, alone."""

from __future__ import annotations

import asyncio

import pytest

from media_server import QualityChanged

pytestmark = pytest.mark.media


def levels_for(events: list, user: str) -> list[str]:
    return [e.level for e in events if isinstance(e, QualityChanged) and e.user_id == user]


async def test_quality_is_excellent_then_degrades_under_loss_and_recovers(sfu, clips) -> None:
    events: list = []
    sfu.node.add_listener(events.append)
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: all(r.count > 30 for r in learner.received.values()) and learner.received)
    await learner.wait_until(lambda: sfu.node.quality._state.get(mentor.participant_id) is not None)
    await asyncio.sleep(1.5)  # several sampling intervals on a clean link
    room = sfu.node.rooms["room1"]
    server_mentor = room.participants[mentor.participant_id]
    assert server_mentor.quality["level"] == "excellent"
    assert levels_for(events, "mentor") == []

    mentor.set_uplink_loss(0.15)
    message = await learner.wait_for(
        "quality", lambda m: m["participant_id"] == mentor.participant_id and m["level"] != "excellent", within=6)
    assert "packet loss on your upload" in message["reason"]
    assert server_mentor.quality["level"] in ("good", "poor", "lost")
    mentor.set_uplink_loss(0.0)
    await learner.wait_for(
        "quality", lambda m: m["participant_id"] == mentor.participant_id and m["level"] == "excellent", within=8)
    assert levels_for(events, "mentor")[-1] == "excellent"
    text = sfu.node.metrics_text()
    assert f'participant="{mentor.participant_id}"' in text
    assert "mentorlive_sfu_quality_score" in text and 'level="excellent"} 1' in text
    from web import keys

    assert sfu.node.metrics_text in sfu.app[keys.METRICS]


async def test_quality_degrades_with_nobody_subscribed(sfu, clips) -> None:
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera()})
    mentor.set_uplink_loss(0.2)
    message = await mentor.wait_for("quality", lambda m: m["level"] != "excellent", within=6)
    assert message["participant_id"] == mentor.participant_id
    assert "packet loss on your upload" in message["reason"]



async def test_a_publisher_whose_uplink_fails_is_told_so_and_its_viewers_are_not_blamed(sfu, clips) -> None:
    mentor, learner = await sfu.mentor_and_learner(clips.camera(), clips.microphone())
    before = len(mentor.messages)
    mentor.set_uplink_loss(1.0)  # every RTP packet the mentor sends is lost (RTCP and ICE still pass)
    message = await mentor.wait_for(
        "quality",
        lambda m: m["participant_id"] == mentor.participant_id and m["level"] == "lost",
        within=6,
        since=before,
    )
    assert message["reason"] in ("no video from your camera is arriving", "no audio from your microphone is arriving")
    room = sfu.node.rooms["room1"]
    assert room.participants[learner.participant_id].quality["level"] == "excellent", "the viewers' links are fine"
    assert not [m for m in learner.messages if m["type"] == "video_paused"]
    mentor.set_uplink_loss(0.0)
    await mentor.wait_for(
        "quality",
        lambda m: m["participant_id"] == mentor.participant_id and m["level"] == "excellent",
        within=10,
        since=before,
    )
