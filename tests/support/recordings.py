"""Synthetic media for recording tests and the benchmark: solid-colour VP8 and pure-tone Opus, as clips an
aiortc peer sends and as track files laid out the way the media node writes them (room-timeline times)."""

from __future__ import annotations

import fractions
import math
from pathlib import Path

import av
import numpy as np

RED, BLUE, GREEN, YELLOW = (220, 30, 30), (30, 30, 220), (30, 200, 30), (230, 220, 30)


def _vp8_codec(width: int, height: int, fps: int) -> av.video.codeccontext.VideoCodecContext:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate = 300_000
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.gop_size = 100000
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return codec


def _picture(color: tuple[int, int, int], width: int, height: int, index: int) -> av.VideoFrame:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = color
    image[: height // 10, : (index % 10 + 1) * width // 10] = 255  # something that moves
    return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")


def color_clip(color: tuple[int, int, int], frames: int = 30, width: int = 320, height: int = 240) -> list[bytes]:
    """VP8 frames of one colour; only the first is a keyframe (a keyframe request restarts the clip)."""
    codec = _vp8_codec(width, height, 30)
    out: list[bytes] = []
    for i in range(frames):
        frame = _picture(color, width, height, i)
        frame.pts = i
        out += [bytes(p) for p in codec.encode(frame)]
    out += [bytes(p) for p in codec.encode(None)]
    return out[:frames]


def _tone(frequency: float, first_sample: int, count: int, level: float = 0.3) -> np.ndarray:
    t = (np.arange(count) + first_sample) / 48000
    return (np.sin(2 * math.pi * frequency * t) * level).astype(np.float32)


def tone_clip(frequency: float, packets: int = 50) -> list[bytes]:
    """20 ms Opus packets of a pure tone (a whole number of periods per clip, so it loops cleanly)."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "stereo", "s16"
    codec.bit_rate = 64000
    codec.time_base = fractions.Fraction(1, 48000)
    out: list[bytes] = []
    for i in range(packets + 4):
        x = (_tone(frequency, i * 960, 960) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(x[None, :], 2, 0).T.reshape(1, -1), format="s16",
                                           layout="stereo")
        frame.sample_rate, frame.pts = 48000, i * 960
        out += [bytes(p) for p in codec.encode(frame)]
    return out[:packets]


def write_video_track(path: Path, color: tuple[int, int, int], start: float, seconds: float, fps: int = 30,
                      size: tuple[int, int] = (640, 480)) -> None:
    """A VP8 WebM whose frames sit at `start`.. on the room's timeline (90 kHz), as the recorder writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.time_base = fractions.Fraction(1, 90000)
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        stream.codec_context.gop_size = 100000
        for i in range(round(seconds * fps)):
            frame = _picture(color, size[0], size[1], i)
            frame.pts = round((start + i / fps) * 90000)
            frame.time_base = stream.time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_audio_track(path: Path, frequency: float, start: float, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "stereo"
        stream.time_base = fractions.Fraction(1, 48000)
        for i in range(round(seconds * 50)):
            x = _tone(frequency, i * 960, 960)
            frame = av.AudioFrame.from_ndarray(np.stack([x, x]), format="fltp", layout="stereo")
            frame.sample_rate = 48000
            frame.pts = round(start * 48000) + i * 960
            frame.time_base = stream.time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def tone_level(samples: np.ndarray, frequency: float, rate: int = 48000) -> float:
    """How loud `frequency` is in `samples` (0: absent; a 0.3 tone alone gives about 0.15)."""
    if samples.size < 256:
        return 0.0
    window = np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(samples * window)) / samples.size
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    band = (freqs > frequency - 15) & (freqs < frequency + 15)
    return float(spectrum[band].max()) if band.any() else 0.0


def decode_mp4(path: Path) -> tuple[list[str], list[str], float, np.ndarray, list[tuple[float, np.ndarray]]]:
    """(video codecs, audio codecs, duration, mono audio at 48 kHz, [(time, rgb frame)] twice a second)."""
    with av.open(str(path)) as container:
        video_codecs = [s.codec_context.name for s in container.streams.video]
        audio_codecs = [s.codec_context.name for s in container.streams.audio]
        duration = float(container.duration or 0) / 1e6
        pictures: list[tuple[float, np.ndarray]] = []
        next_at = 0.25
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= next_at:
                pictures.append((float(frame.time), frame.to_ndarray(format="rgb24")))
                next_at += 0.5
        container.seek(0)
        chunks = [frame.to_ndarray().mean(axis=0) for frame in container.decode(audio=0)]
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return video_codecs, audio_codecs, duration, audio, pictures
