"""A real recorded room: two aiortc participants send colour video and a tone each; the recording is composed
while the session runs, and after End it is ready, without anyone running a job, as one MP4 with both
pictures, both voices where they spoke, and a reconnect gap kept as a gap."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from sqlmodel import select

from media_server.testing.synthetic import ClipTrack
from models.clock import ManualClock
from models.tables import RecordingSegment
from tests.integration.after_session.cast import Cast, iso
from tests.integration.room.conftest import eventually
from tests.integration.sessions.helpers import create_session
from tests.support.recordings import BLUE, RED, color_clip, decode_mp4, tone_clip, tone_level
from web.config import Config
from web.keys import DB
from web.recordings.storage import recordings_root

pytestmark = pytest.mark.media

MENTOR_TONE, LEARNER_TONE = 440.0, 880.0


def camera(color: tuple[int, int, int]) -> ClipTrack:
    return ClipTrack("video", color_clip(color), fps=30, clock_rate=90000)


def microphone(frequency: float) -> ClipTrack:
    return ClipTrack("audio", tone_clip(frequency), fps=50, clock_rate=48000)


def near(pixel, color, tolerance: int = 45) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, color, strict=True))


async def segment_rows(cast: Cast) -> list[dict]:
    async with cast.mentor.app[DB].session() as s:
        rows = (await s.exec(select(RecordingSegment))).all()
    return [{"presence": row.presence, "files": row.files} for row in rows]


def spoken(rows: list[dict], user_id: str, source: str = "microphone", join: float = 0.1) -> list[tuple[float, float]]:
    """Where the node recorded this user's track: its files' spans without their gaps, merged across
    pauses shorter than `join`."""
    spans: list[tuple[float, float]] = []
    for row in rows:
        for f in row["files"]:
            if f["user_id"] != user_id or f["source"] != source:
                continue
            start = f["first"]
            for gap_from, gap_to in f["gaps"]:
                spans.append((start, gap_from + 0.02))
                start = gap_to
            spans.append((start, f["last"] + 0.02))
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] < join:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def holes(spans: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    edges = [0.0, *[x for span in spans for x in span], duration]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]


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

    # Times on the recording's own timeline: it starts when the mentor's connection joins, a moment after
    # `began` (more on a busy machine); where the learner arrived and their first picture come from the node.
    offset = length - duration
    rows = await segment_rows(cast)
    learner_id = str((await cast.learner.json("GET", "/api/me", 200))["id"])
    mentor_id = str((await cast.mentor.json("GET", "/api/me", 200))["id"])
    learner_at = min(p["joined"] for row in rows for p in row["presence"] if p["user_id"] == learner_id)
    learner_seen = min(f["first"] for row in rows for f in row["files"]
                       if f["user_id"] == learner_id and f["source"] == "camera")
    pause, resume = gap_from - offset, gap_to - offset

    # Both pictures, side by side, once the learner is there (the mentor on the left): wherever the node has
    # both cameras (a picture is held for up to a second between frames).
    def filmed(user: str, t: float) -> bool:
        return any(a + 0.2 < t < b - 0.2 for a, b in spoken(rows, user, "camera", join=1.0))

    both = [frame for t, frame in pictures if filmed(mentor_id, t) and filmed(learner_id, t) and t < pause - 0.3]
    assert len(both) >= 2
    seen = [(round(t, 2), frame[360, 320].tolist(), frame[360, 960].tolist()) for t, frame in pictures]
    assert all(near(frame[360, 320], RED) and near(frame[360, 960], BLUE) for frame in both), (seen, learner_seen)
    alone = [frame for t, frame in pictures if t < learner_at - 0.1]
    assert alone and near(alone[-1][360, 640], RED)

    def level(frequency: float, start: float, end: float) -> float:
        return tone_level(audio[int(start * 48000):int(end * 48000)], frequency)

    # Each voice is heard wherever the node recorded that microphone, and nowhere else (a busy machine may
    # stall a sender for a moment: that moment is silence in the files and in the recording alike).
    for user, tone in ((mentor_id, MENTOR_TONE), (learner_id, LEARNER_TONE)):
        spoke = spoken(rows, user)
        assert sum(b - a for a, b in spoke) > 3.0
        for a, b in spoke:
            if b - a >= 0.6:
                assert level(tone, a + 0.15, b - 0.15) > 0.04, (user, a, b)
        for a, b in holes(spoke, duration):
            if b - a >= 0.6:
                assert level(tone, a + 0.15, b - 0.15) < 0.01, (user, a, b)
    assert spoken(rows, learner_id)[0][0] >= learner_at - 0.05

    # The reconnect gap is silence for the mentor where it happened, and the tone comes back on time.
    reported = [gap for row in rows for f in row["files"] if f["user_id"] != learner_id
                and f["source"] == "microphone" for gap in f["gaps"]]
    silent_from, silent_to = min(reported, key=lambda gap: abs(gap[0] - pause))
    # The node saw the gap where the client made it, as long as the client made it (a busy machine delays
    # both ends a little): the time after it is not pulled forward.
    assert abs(silent_from - pause) < 0.7 and abs(silent_to - resume) < 0.7
    assert abs((silent_to - silent_from) - (resume - pause)) < 0.5
    assert level(MENTOR_TONE, silent_from + 0.2, silent_to - 0.2) < 0.01
