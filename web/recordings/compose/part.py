"""One window of a recording to one MP4 part: H.264 1280x720 (the layout of who is present, names under
each picture, initials for a camera that is off) and AAC mixed from every microphone.

The part is written under a temporary name and renamed when complete, so a part that exists is whole:
a composition killed midway resumes from the last finished part.
"""

from __future__ import annotations

import fractions
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from web.recordings.compose.audio import RATE, mix_window
from web.recordings.compose.labels import OFF_LUMA, draw_label, initials_tile
from web.recordings.compose.layout import HEIGHT, WIDTH, layout
from web.recordings.compose.pictures import TrackPictures, blit
from web.recordings.compose.timeline import Window

AUDIO_FRAME = 1024  # samples per AAC frame


@dataclass(frozen=True)
class ComposeSettings:
    fps: int = 15
    crf: int = 28
    preset: str = "ultrafast"
    threads: int = 1
    audio_bitrate: int = 64000


def frame_count(length: float, fps: int) -> int:
    return max(1, round(length * fps))


def sample_count(length: float) -> int:
    return max(AUDIO_FRAME, round(length * RATE))


def compose_window(window: Window, out: Path, settings: ComposeSettings) -> None:
    tmp = out.with_name(f"{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write(window, tmp, settings)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _open_output(path: Path, settings: ComposeSettings) -> tuple[av.container.OutputContainer, av.VideoStream,
                                                                 av.AudioStream]:
    container = av.open(str(path), "w", format="mp4")
    video = container.add_stream("libx264", rate=settings.fps)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.time_base = fractions.Fraction(1, settings.fps)
    # The same options for every part: their parameter sets match, so the parts join without re-encoding.
    video.options = {"preset": settings.preset, "crf": str(settings.crf), "g": str(2 * settings.fps),
                     "x264-params": "scenecut=0:bframes=0"}
    video.codec_context.thread_count = settings.threads
    audio = container.add_stream("aac", rate=RATE)
    audio.layout = "mono"
    audio.bit_rate = settings.audio_bitrate
    audio.time_base = fractions.Fraction(1, RATE)
    return container, video, audio


def _write(window: Window, path: Path, settings: ComposeSettings) -> None:
    container, video, audio = _open_output(path, settings)
    with container:
        mix = mix_window([t for t in window.tracks if t.kind == "audio"], window.start, window.end)
        _encode_audio(container, audio, mix, sample_count(window.length))
        _encode_video(container, video, window, settings.fps)


def _encode_audio(container: av.container.OutputContainer, stream: av.AudioStream, mix: np.ndarray,
                  total: int) -> None:
    samples = np.zeros(total, dtype=np.float32)
    samples[:min(total, mix.size)] = mix[:total]
    for at in range(0, total, AUDIO_FRAME):
        chunk = samples[at:at + AUDIO_FRAME]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = RATE
        frame.pts = at
        frame.time_base = fractions.Fraction(1, RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _encode_video(container: av.container.OutputContainer, stream: av.VideoStream, window: Window,
                  fps: int) -> None:
    cameras = {}
    screens = {}
    for pid in {t.participant_id for t in window.tracks if t.kind == "video"}:
        mine = [t for t in window.tracks if t.kind == "video" and t.participant_id == pid]
        if cam := [t for t in mine if t.source != "screen"]:
            cameras[pid] = TrackPictures(cam, window.start)
        if screen := [t for t in mine if t.source == "screen"]:
            screens[pid] = TrackPictures(screen, window.start)
    names = {p.participant_id: p.name for p in window.people}
    try:
        for n in range(frame_count(window.length, fps)):
            t = window.start + n / fps
            canvas = np.zeros((HEIGHT * 3 // 2, WIDTH), dtype=np.uint8)
            canvas[HEIGHT:] = 128
            planes = (canvas[:HEIGHT], canvas[HEIGHT:HEIGHT * 5 // 4].reshape(HEIGHT // 2, WIDTH // 2),
                      canvas[HEIGHT * 5 // 4:].reshape(HEIGHT // 2, WIDTH // 2))
            shown = tuple(p.participant_id for p in window.shown_at(t))
            sharing = [(pid, frame) for pid, track in screens.items() if (frame := track.at(t)) is not None]
            screen_of, screen_frame = sharing[0] if sharing else (None, None)
            for tile in layout(shown, screen_of):
                track = screens.get(tile.participant_id) if tile.source == "screen" else \
                    cameras.get(tile.participant_id)
                frame = screen_frame if tile.source == "screen" else (track.at(t) if track else None)
                if frame is not None and track is not None:
                    ox, oy, array = track.scaled(frame, tile.w, tile.h)
                    blit(planes, tile.x + ox, tile.y + oy, array)
                elif tile.source == "camera":
                    planes[0][tile.y:tile.y + tile.h, tile.x:tile.x + tile.w] = initials_tile(
                        names.get(tile.participant_id, ""), tile.w, tile.h)
                if tile.source == "camera":
                    draw_label(*planes, tile.x, tile.y, tile.w, tile.h, names.get(tile.participant_id, ""))
            if not shown and screen_of is None:
                planes[0][:] = OFF_LUMA // 2
            frame_out = av.VideoFrame.from_ndarray(canvas, format="yuv420p")
            frame_out.pts = n
            frame_out.time_base = fractions.Fraction(1, fps)
            container.mux(stream.encode(frame_out))
        container.mux(stream.encode(None))
    finally:
        for track in (*cameras.values(), *screens.values()):
            track.close()
