"""Every microphone of a window mixed with numpy: each decoded Opus frame placed at its time on the
window's timeline (silence wherever nobody sent), summed, and limited so loud overlaps never wrap."""

from __future__ import annotations

import logging

import av
import numpy as np

from web.recordings.compose.timeline import TrackPart

log = logging.getLogger(__name__)

RATE = 48000
# Above this level the sum is compressed smoothly towards full scale instead of being cut hard.
KNEE = 0.8


def limit(mix: np.ndarray) -> np.ndarray:
    loud = np.abs(mix) > KNEE
    if loud.any():
        over = np.abs(mix[loud]) - KNEE
        mix[loud] = np.sign(mix[loud]) * (KNEE + (1 - KNEE) * np.tanh(over / (1 - KNEE)))
    return mix


def mix_window(tracks: list[TrackPart], start: float, end: float) -> np.ndarray:
    """float32 mono samples at 48 kHz for [start, end)."""
    total = max(0, round((end - start) * RATE))
    mix = np.zeros(total, dtype=np.float32)
    for part in tracks:
        try:
            container = av.open(str(part.path))
        except (av.FFmpegError, OSError) as exc:
            log.warning("cannot open %s: %s", part.path, exc)
            continue
        with container:
            stream = container.streams.audio[0]
            try:
                for frame in container.decode(stream):
                    if frame.time is None:
                        continue
                    samples = frame.to_ndarray().astype(np.float32)
                    if frame.format.is_packed:
                        samples = samples.reshape(-1, len(frame.layout.channels)).T
                    if frame.format.name.startswith("s16"):
                        samples /= 32768.0
                    mono = samples.mean(axis=0)
                    if frame.sample_rate != RATE:
                        continue  # the recorder writes 48 kHz Opus only
                    at = round((float(frame.time) - start) * RATE)
                    lo, hi = max(0, at), min(total, at + mono.size)
                    if hi > lo:
                        mix[lo:hi] += mono[lo - at:hi - at]
            except av.FFmpegError as exc:
                log.warning("decoding %s stopped: %s", part.path, exc)
    return limit(mix)
