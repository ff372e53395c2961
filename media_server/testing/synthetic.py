"""Synthetic encoded media for tests and benchmarks: pre-encoded clips sent without an encoder.

A clip is encoded once; a ClipTrack then plays it in real time as av.Packets, so a
test peer costs what a browser's network stack costs, not a VP8 encoder. Every
video frame carries its index as a row of black/white blocks, readable after decoding.
A ToneTrack is the exception: a microphone that yields raw AudioFrames, because only
frames aiortc encodes itself carry the audio-level header extension (active speaker).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc import MediaStreamTrack
from av.video.codeccontext import VideoCodecContext

MARKER_BITS = 16
MARKER_BLOCK = 16


def _picture(index: int, width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    base = ((x + 3 * index) % 256).astype(np.uint8)
    image = np.stack([base, ((y + 2 * index) % 256).astype(np.uint8), ((x + y) // 2 % 256).astype(np.uint8)], -1)
    rng = np.random.default_rng(index)
    image[height // 4 :] ^= rng.integers(0, 48, (height - height // 4, width, 3), dtype=np.uint8)
    for bit in range(MARKER_BITS):
        value = 255 if index >> bit & 1 else 0
        image[0:MARKER_BLOCK, bit * MARKER_BLOCK : (bit + 1) * MARKER_BLOCK] = value
    return image


def read_marker(frame: av.VideoFrame) -> int:
    gray = frame.to_ndarray(format="gray")
    index = 0
    for bit in range(MARKER_BITS):
        cell = gray[4 : MARKER_BLOCK - 4, bit * MARKER_BLOCK + 4 : (bit + 1) * MARKER_BLOCK - 4]
        if cell.mean() > 128:
            index |= 1 << bit
    return index


def encode_vp8_clip(
    frames: int, width: int = 320, height: int = 240, fps: int = 30, bitrate: int = 500_000
) -> list[bytes]:
    """VP8 frames; only the first is a keyframe, the rest predict from it."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate = bitrate
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.gop_size = 100000
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                     "minrate": str(bitrate), "maxrate": str(bitrate), "bufsize": str(bitrate)}
    return _encode_pictures(codec, frames, width, height)


def _encode_pictures(codec: VideoCodecContext, frames: int, width: int, height: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(_picture(i, width, height), format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        out += [bytes(p) for p in codec.encode(frame)]
    out += [bytes(p) for p in codec.encode(None)]
    return out[:frames]


def encode_opus_clip(packets: int) -> list[bytes]:
    """20 ms Opus packets of a 440 Hz tone."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "stereo", "s16"
    codec.bit_rate = 64000
    codec.time_base = fractions.Fraction(1, 48000)
    out: list[bytes] = []
    samples = 960
    for i in range(packets + 4):
        t = (np.arange(samples) + i * samples) / 48000
        tone = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16)
        interleaved = np.repeat(tone[None, :], 2, 0).T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = i * samples
        out += [bytes(p) for p in codec.encode(frame)]
    return out[:packets]


class ClipTrack(MediaStreamTrack):
    """Plays a pre-encoded clip in real time; a keyframe request restarts it at frame 0."""

    def __init__(
        self, kind: str, frames: list[bytes], *, fps: float, clock_rate: int, limit: int | None = None
    ) -> None:
        super().__init__()
        self.kind = kind
        self.clip = frames
        self.period = 1.0 / fps
        self.step = int(clock_rate / fps)
        self.time_base = fractions.Fraction(1, clock_rate)
        self.limit = limit
        self.sent: list[tuple[int, float]] = []  # (clip index, wall time handed to the sender)
        self.on_sent: Callable[[int, float], None] | None = None
        self.keyframe_requests = 0
        self._next_index = 0
        self._count = 0
        self._start: float | None = None
        self._resumed = asyncio.Event()
        self._resumed.set()

    def fork(self) -> ClipTrack:
        """The same clip from the same point on, for a second sender (a connection being migrated):
        two senders pulling from one track would each get every other frame."""
        twin = ClipTrack(self.kind, self.clip, fps=1.0 / self.period, clock_rate=round(self.step / self.period),
                         limit=None if self.limit is None else max(0, self.limit - self._count))
        twin._next_index = self._next_index
        return twin

    def pause(self) -> None:
        """Send nothing until resume(), keeping timestamps continuous (like a muted sender
        that stops sending rather than sending silence)."""
        self._resumed.clear()

    def resume(self) -> None:
        self._start = None
        self._resumed.set()

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        if self.kind == "video":
            self._next_index = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.limit is not None and self._count >= self.limit:
            await asyncio.Event().wait()  # sent everything: stay silent, never end the stream
        await self._resumed.wait()
        if self._start is None:
            self._start = time.monotonic() - self._count * self.period
        delay = self._start + self._count * self.period - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        index = self._next_index
        self._next_index = (index + 1) % len(self.clip)
        packet = av.Packet(self.clip[index])
        packet.pts = self._count * self.step
        packet.time_base = self.time_base
        self._count += 1
        now = time.time()
        self.sent.append((index, now))
        if self.on_sent is not None:
            self.on_sent(index, now)
        return packet


class ToneTrack(MediaStreamTrack):
    """A microphone as raw 20 ms AudioFrames (48 kHz mono): a 440 Hz tone while `loud`, silence otherwise.

    aiortc's sender encodes these with Opus and writes each packet's RFC 6464 level
    (about -15 dBov for the tone, -127 for silence), as a browser does; pre-encoded
    packets go out without one. `pre_encoded = False` tells the test client to leave
    aiortc's encoder in place.
    """

    kind = "audio"
    pre_encoded = False
    RATE = 48000
    SAMPLES = 960

    def __init__(self, loud: bool = False, amplitude: int = 8000) -> None:
        super().__init__()
        self.loud = loud
        t = np.arange(self.RATE // 440 * 440) / self.RATE  # whole periods: loops without a click
        self._wave = (np.sin(2 * math.pi * 440 * t) * amplitude).astype(np.int16)
        self._silence = np.zeros(self.SAMPLES, dtype=np.int16)
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._count * self.SAMPLES / self.RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.loud:
            offset = self._count * self.SAMPLES % len(self._wave)
            samples = np.take(self._wave, range(offset, offset + self.SAMPLES), mode="wrap")
        else:
            samples = self._silence
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self._count * self.SAMPLES
        frame.time_base = fractions.Fraction(1, self.RATE)
        self._count += 1
        return frame


def encode_h264_clip(frames: int, width: int = 320, height: int = 240, fps: int = 30) -> list[bytes]:
    """Constrained-baseline H.264 (what browsers send) in Annex B; only the first frame is an IDR."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.gop_size = 100000
    codec.options = {"profile": "baseline", "level": "31", "tune": "zerolatency", "preset": "ultrafast",
                     "x264-params": "keyint=100000:min-keyint=100000:scenecut=0:bframes=0"}
    return _encode_pictures(codec, frames, width, height)


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B buffer, without start codes (3- and 4-byte codes compare equal)."""
    units, i = [], data.find(b"\x00\x00\x01")
    while i != -1:
        start = i + 3
        i = data.find(b"\x00\x00\x01", start)
        end = len(data) if i == -1 else i - (1 if data[i - 1] == 0 else 0)
        units.append(data[start:end])
    return units
