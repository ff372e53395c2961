"""Recording: one WebM per publication, remuxed from forwarded frames, reopened and decoded."""

from __future__ import annotations

import asyncio
import itertools

import av
import pytest

from media_server import RoomEnded
from media_server.testing.codec_audit import CodecCounter

pytestmark = pytest.mark.media


def decode_all(path) -> tuple[int, list[float], tuple[int, int] | None]:
    frames, times, size = 0, [], None
    with av.open(str(path)) as container:
        stream = container.streams[0]
        for frame in container.decode(stream):
            frames += 1
            times.append(float(frame.pts * stream.time_base))  # type: ignore[operator]  # decoded frames carry both
            if isinstance(frame, av.VideoFrame):
                size = (frame.width, frame.height)
    return frames, times, size


async def test_recorded_webm_files_reopen_and_decode_every_frame(sfu, clips) -> None:
    ended: list[RoomEnded] = []
    sfu.node.add_listener(lambda e: ended.append(e) if isinstance(e, RoomEnded) else None)
    camera, mic = clips.camera(limit=60), clips.microphone(limit=100)
    mentor = sfu.client("mentor", role="mentor", record=True)
    with CodecCounterScope() as counter:
        await mentor.connect({"camera": camera, "microphone": mic})
        await mentor.wait_until(lambda: len(camera.sent) == 60 and len(mic.sent) == 100, within=6)
        await asyncio.sleep(0.3)
        assert counter.total == 0, "recording remuxes: no aiortc decoder or encoder ran"
    await mentor.send({"type": "end"})
    await mentor.wait_until(lambda: bool(ended), within=5)
    files = {f.source: f for f in ended[0].recordings}
    assert set(files) == {"camera", "microphone"}
    video, audio = files["camera"], files["microphone"]
    assert video.path.parent == sfu.node.settings.recordings_dir / "room1"
    assert video.path.suffix == audio.path.suffix == ".webm"
    assert video.frames == 60 and audio.frames == 100
    frames, times, size = decode_all(video.path)
    assert frames == 60 and size == (320, 240)
    assert all(abs((b - a) - 1 / 30) < 0.002 for a, b in itertools.pairwise(times))
    audio_frames, audio_times, _ = decode_all(audio.path)
    assert audio_frames == 100
    # Both files sit on the room's timeline: camera and microphone started together.
    assert abs(times[0] - audio_times[0]) < 0.1
    assert abs(video.start_offset - audio.start_offset) < 0.1


async def test_recording_survives_a_media_reconnect_in_one_file(sfu, clips) -> None:
    ended: list[RoomEnded] = []
    sfu.node.add_listener(lambda e: ended.append(e) if isinstance(e, RoomEnded) else None)
    camera = clips.camera()
    mentor = sfu.client("mentor", role="mentor", record=True)
    await mentor.connect({"camera": camera})
    await mentor.wait_until(lambda: len(camera.sent) > 30)
    await mentor.pc.close()
    await mentor.wait_for("offer", lambda m: m["restart"], within=5)
    sent_before = len(camera.sent)
    await mentor.wait_until(lambda: len(camera.sent) > sent_before + 30)
    await mentor.send({"type": "end"})
    await mentor.wait_until(lambda: bool(ended), within=5)
    [video] = ended[0].recordings
    frames, times, _ = decode_all(video.path)
    assert frames == video.frames and frames > 55
    assert times == sorted(times), "timestamps keep rising across the reconnect"


class CodecCounterScope:
    def __enter__(self) -> CodecCounter:
        from media_server.testing.codec_audit import count_codec_use

        self._cm = count_codec_use()
        return self._cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(None, None, None)


async def test_h264_is_recorded_to_mkv_without_transcoding(sfu) -> None:
    from media_server.testing.synthetic import ClipTrack, encode_h264_clip

    ended: list[RoomEnded] = []
    sfu.node.add_listener(lambda e: ended.append(e) if isinstance(e, RoomEnded) else None)
    camera = ClipTrack("video", encode_h264_clip(40), fps=30, clock_rate=90000, limit=40)
    mentor = sfu.client("mentor", role="mentor", record=True)
    await mentor.connect({"camera": camera}, codec="H264")
    await mentor.wait_until(lambda: len(camera.sent) == 40, within=6)
    await asyncio.sleep(0.3)
    await mentor.send({"type": "end"})
    await mentor.wait_until(lambda: bool(ended), within=5)
    [video] = ended[0].recordings
    assert video.path.suffix == ".mkv" and video.codec == "H264"
    frames, times, size = decode_all(video.path)
    assert frames == video.frames == 40 and size == (320, 240)
    assert times == sorted(times)


async def test_recording_keeps_a_pause_as_a_gap_and_tracks_aligned(sfu, clips) -> None:
    ended: list[RoomEnded] = []
    sfu.node.add_listener(lambda e: ended.append(e) if isinstance(e, RoomEnded) else None)
    camera, mic = clips.camera(), clips.microphone()
    mentor = sfu.client("mentor", role="mentor", record=True)
    await mentor.connect({"camera": camera, "microphone": mic})
    await mentor.wait_until(lambda: len(camera.sent) > 20)
    # Muted by stopping to send: RTP timestamps do not advance across the silence.
    camera.pause()
    mic.pause()
    await mentor.send({"type": "mute", "source": "microphone", "muted": True})
    await asyncio.sleep(1.2)
    camera.resume()
    mic.resume()
    await mentor.send({"type": "mute", "source": "microphone", "muted": False})
    sent = len(camera.sent)
    await mentor.wait_until(lambda: len(camera.sent) > sent + 20)
    await mentor.send({"type": "end"})
    await mentor.wait_until(lambda: bool(ended), within=5)
    files = {f.source: f for f in ended[0].recordings}
    _, video_times, _ = decode_all(files["camera"].path)
    _, audio_times, _ = decode_all(files["microphone"].path)
    video_gap = max(b - a for a, b in itertools.pairwise(video_times))
    audio_gap = max(b - a for a, b in itertools.pairwise(audio_times))
    assert 1.0 < video_gap < 1.6 and 1.0 < audio_gap < 1.6, (video_gap, audio_gap)
    assert abs(video_times[-1] - audio_times[-1]) < 0.15, "audio and video still end together"
