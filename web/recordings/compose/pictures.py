"""One participant's video in a window: decoded frame by frame as the composition moves forward in time,
so memory holds one picture per track whatever the length.

A picture stays on screen until the next one; a track silent for longer than `GAP_SECONDS` (a
reconnect, a camera turned off) shows nothing there, so a gap stays a gap. A new file starts on a
keyframe that can arrive a moment after the window's start: its first picture is shown from the start.
"""

from __future__ import annotations

import logging
from collections.abc import Generator

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from web.recordings.compose.timeline import TrackPart

log = logging.getLogger(__name__)

GAP_SECONDS = 1.0
BACKFILL_SECONDS = 1.5


def _frames(parts: list[TrackPart]) -> Generator[tuple[float, av.VideoFrame], None, None]:
    for part in sorted(parts, key=lambda p: p.first):
        try:
            container = av.open(str(part.path))
        except (av.FFmpegError, OSError) as exc:
            log.warning("cannot open %s: %s", part.path, exc)
            continue
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            stream.codec_context.thread_count = 1
            try:
                for frame in container.decode(stream):
                    if frame.time is not None:
                        yield float(frame.time), frame
            except av.FFmpegError as exc:
                # A file cut short (a node that died mid-write) gives what it holds.
                log.warning("decoding %s stopped: %s", part.path, exc)


class TrackPictures:
    def __init__(self, parts: list[TrackPart], window_start: float) -> None:
        self._frames = _frames(parts)
        self._window_start = window_start
        self._current: tuple[float, av.VideoFrame] | None = None
        self._next: tuple[float, av.VideoFrame] | None = next(self._frames, None)
        self._scaled: dict[tuple[int, int], tuple[int, np.ndarray]] = {}
        self._scaler = VideoReformatter()

    def at(self, t: float) -> av.VideoFrame | None:
        while self._next is not None and self._next[0] <= t:
            self._current = self._next
            self._scaled.clear()
            self._next = next(self._frames, None)
        if self._current is None:
            if self._next is not None and self._next[0] - self._window_start <= BACKFILL_SECONDS:
                return self._next[1]
            return None
        if t - self._current[0] > GAP_SECONDS:
            return None
        return self._current[1]

    def close(self) -> None:
        self._frames.close()  # a generator: closing it closes its file

    def scaled(self, frame: av.VideoFrame, w: int, h: int) -> tuple[int, int, np.ndarray]:
        """The picture fitted in w x h keeping its shape: (offset x, offset y, yuv420p array)."""
        key = (w, h)
        cached = self._scaled.get(key)
        if cached is not None and cached[0] == id(frame):
            array = cached[1]
        else:
            scale = min(w / frame.width, h / frame.height)
            sw, sh = max(2, int(frame.width * scale) // 2 * 2), max(2, int(frame.height * scale) // 2 * 2)
            # One scaler per track, reused frame after frame; fast bilinear is plenty for a shrunk tile.
            array = self._scaler.reformat(frame, width=sw, height=sh, format="yuv420p",
                                          interpolation="FAST_BILINEAR").to_ndarray()
            self._scaled[key] = (id(frame), array)
        sh = array.shape[0] * 2 // 3
        sw = array.shape[1]
        return (w - sw) // 2 // 2 * 2, (h - sh) // 2 // 2 * 2, array


def blit(planes: tuple[np.ndarray, np.ndarray, np.ndarray], x: int, y: int, array: np.ndarray) -> None:
    """Copy a yuv420p array (as to_ndarray gives it) onto the canvas planes at (x, y)."""
    y_plane, u_plane, v_plane = planes
    h = array.shape[0] * 2 // 3
    w = array.shape[1]
    y_plane[y:y + h, x:x + w] = array[:h]
    chroma = array[h:].reshape(2, h // 2, w // 2)
    u_plane[y // 2:y // 2 + h // 2, x // 2:x // 2 + w // 2] = chroma[0]
    v_plane[y // 2:y // 2 + h // 2, x // 2:x // 2 + w // 2] = chroma[1]
