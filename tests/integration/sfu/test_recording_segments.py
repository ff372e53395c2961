"""Recording in windows: each finished window of the room's timeline is reported with closed files that decode."""

from __future__ import annotations

import asyncio
import dataclasses

import av
import pytest

from media_server import MediaSettings, RecordingSegment, RoomEnded

pytestmark = pytest.mark.media


@pytest.fixture
def sfu_settings(sfu_settings: MediaSettings) -> MediaSettings:
    return dataclasses.replace(sfu_settings, recording_segment_seconds=1.0, recording_segment_grace=0.4)


def decoded_times(path) -> list[float]:
    with av.open(str(path)) as container:
        times = []
        for frame in container.decode(container.streams[0]):
            assert isinstance(frame, av.VideoFrame | av.AudioFrame)
            if frame.time is not None:
                times.append(float(frame.time))
        return times


async def test_windows_are_reported_while_recording_with_files_that_decode_alone(sfu, clips) -> None:
    segments: list[RecordingSegment] = []
    ended: list[RoomEnded] = []
    sfu.node.add_listener(lambda e: segments.append(e) if isinstance(e, RecordingSegment) else None)
    sfu.node.add_listener(lambda e: ended.append(e) if isinstance(e, RoomEnded) else None)
    camera, mic = clips.camera(), clips.microphone()
    mentor = sfu.client("mentor", role="mentor", record=True)
    await mentor.connect({"camera": camera, "microphone": mic})
    # Windows close while the room runs, not only at the end.
    await mentor.wait_until(lambda: len(segments) >= 2, within=6)
    assert not ended and [s.index for s in segments] == [0, 1]
    await asyncio.sleep(0.6)
    await mentor.send({"type": "end"})
    await mentor.wait_until(lambda: bool(ended), within=5)
    indexes = [s.index for s in segments]
    assert indexes == list(range(len(segments))) and len(segments) >= 3
    assert [s.final for s in segments] == [False] * (len(segments) - 1) + [True]
    assert {s.run for s in segments} == {segments[0].run}
    assert segments[0].presence[0].name == "User mentor"
    video_frames = 0
    for segment in segments:
        assert {f.window for f in segment.files} <= {segment.index}
        for recorded in segment.files:
            times = decoded_times(recorded.path)
            # Every file decodes on its own from its first frame: a video file starts on a keyframe.
            assert len(times) == recorded.frames
            assert segment.start - 0.05 <= times[0] and times[-1] <= segment.end + 1.0
            if recorded.source == "camera":
                video_frames += recorded.frames
    assert len(ended[0].recordings) == sum(len(s.files) for s in segments)
    # Cutting files loses at most the frames before each new file's keyframe.
    assert video_frames >= len(camera.sent) - 12 * len(segments)
