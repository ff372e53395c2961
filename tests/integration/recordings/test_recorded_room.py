"""A real recorded room: two aiortc participants send colour video and a tone each; the recording is composed
while the session runs, and after End it is ready, without anyone running a job, as one MP4 with both
pictures, both voices where they spoke, and a reconnect gap kept as a gap."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from media_server.testing.synthetic import ClipTrack
from models.clock import ManualClock
from tests.integration.after_session.cast import Cast, iso
from tests.integration.room.conftest import eventually
from tests.integration.sessions.helpers import create_session
from tests.support.recordings import BLUE, RED, color_clip, decode_mp4, tone_clip, tone_level
from web.config import Config
from web.recordings.storage import recordings_root

pytestmark = pytest.mark.media

MENTOR_TONE, LEARNER_TONE = 440.0, 880.0


def camera(color: tuple[int, int, int]) -> ClipTrack:
    return ClipTrack("video", color_clip(color), fps=30, clock_rate=90000)


def microphone(frequency: float) -> ClipTrack:
    return ClipTrack("audio", tone_clip(frequency), fps=50, clock_rate=48000)


def near(pixel, color, tolerance: int = 45) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, color, strict=True))


async def recording(api, session_id: int) -> dict:
    return (await api.json("GET", f"/api/sessions/{session_id}/recording", 200))["recording"]


async def test_recorded_session_is_ready_soon_after_the_end_with_both_people_in_it(
    cast: Cast, clock: ManualClock, media, config: Config
) -> None:
    session = await create_session(cast.mentor, record=True, start_at=iso(datetime(2030, 1, 1, 10, 0)))
    sid = session["id"]
    await cast.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    clock.set(datetime.fromisoformat(session["start_at"].replace("Z", "+00:00")))
    await cast.mentor.json("POST", f"/api/sessions/{sid}/go-live", 200)

    mentor_mic, learner_mic = microphone(MENTOR_TONE), microphone(LEARNER_TONE)
    mentor_cam = camera(RED)
    began = time.monotonic()
    mentor = await media(cast.mentor, sid, {"camera": mentor_cam, "microphone": mentor_mic})
    await mentor.send({"type": "start"})
    await eventually(lambda: len(mentor_mic.sent) > 60)
    learner_joined = time.monotonic() - began
    await media(cast.learner, sid, {"camera": camera(BLUE), "microphone": learner_mic})
    await asyncio.sleep(2.5)

    # The mentor's media connection drops and comes back: nothing is sent meanwhile.
    mentor_cam.pause()
    mentor_mic.pause()
    gap_from = time.monotonic() - began
    await mentor.pc.close()
    await mentor.wait_for("offer", lambda m: m["restart"], within=5)
    await asyncio.sleep(max(0.0, 1.6 - (time.monotonic() - began - gap_from)))
    gap_to = time.monotonic() - began
    mentor_cam.resume()
    mentor_mic.resume()
    await asyncio.sleep(2.0)

    # Composed while recording: parts are finished before anyone presses End.
    during = await recording(cast.mentor, sid)
    assert during["status"] == "recording"
    assert during["progress"] > 0

    await cast.mentor.json("POST", f"/api/sessions/{sid}/end", 200)
    ended = time.monotonic()
    length = ended - began
    while (body := await recording(cast.mentor, sid))["status"] not in ("ready", "partial", "failed"):
        assert time.monotonic() - ended < 30, body
        await asyncio.sleep(0.2)
    assert body["status"] == "ready", body
    ready_after = time.monotonic() - ended
    assert ready_after < 15

    response = await cast.mentor.get(body["download_url"])
    assert response.status == 200
    data = await response.read()
    assert len(data) == body["size_bytes"]
    path = recordings_root(config) / "check.mp4"
    path.write_bytes(data)
    video_codecs, audio_codecs, duration, audio, pictures = decode_mp4(path)
    assert video_codecs == ["h264"] and audio_codecs == ["aac"]
    assert abs(duration - length) < 0.5, (duration, length)
    assert abs(body["duration_seconds"] - duration) < 0.1

    # Both pictures, side by side, once the learner is there (the mentor on the left).
    both = [frame for t, frame in pictures if learner_joined + 1.0 < t < gap_from - 0.2]
    assert both
    seen = [(round(t, 2), frame[360, 320].tolist(), frame[360, 960].tolist()) for t, frame in pictures]
    assert all(near(frame[360, 320], RED) and near(frame[360, 960], BLUE) for frame in both), (seen, learner_joined)
    alone = [frame for t, frame in pictures if t < learner_joined - 0.3]
    assert alone and near(alone[-1][360, 640], RED)

    def level(frequency: float, start: float, end: float) -> float:
        return tone_level(audio[int(start * 48000):int(end * 48000)], frequency)

    assert level(MENTOR_TONE, 0.3, learner_joined - 0.2) > 0.05
    assert level(LEARNER_TONE, 0.3, learner_joined - 0.3) < 0.01
    assert level(LEARNER_TONE, learner_joined + 0.8, length - 0.3) > 0.05
    # The reconnect gap is silence for the mentor where it happened, and the tone comes back on time.
    assert level(MENTOR_TONE, gap_from + 0.3, gap_to - 0.2) < 0.01
    assert level(MENTOR_TONE, gap_to + 0.4, length - 0.3) > 0.05
    assert level(MENTOR_TONE, gap_from - 1.0, gap_from - 0.2) > 0.05
