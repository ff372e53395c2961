"""Recording composition: speed on one core, the CPU it takes while a session runs, and End → ready.

    .venv/bin/python -m bench.recording            # 2- and 4-person speed; End → ready for 2 and 10 minutes
    .venv/bin/python -m bench.recording --quick    # shorter windows, 2 minutes only

Track files are synthetic, laid out as the media node writes them: per person a 640x480 30 fps VP8
camera (a moving gradient with noise, so decoding costs what a real camera costs) and a 48 kHz Opus
microphone, cut into 30 s windows on the room's timeline. Encoded once, then remuxed with shifted
timestamps for every window and person (so a 10-minute session needs no 10 minutes of encoding).

- Speed: one window composed by `compose_window` (1280x720 H.264 at `[recordings] fps`, x264 preset and
  crf from config.toml, one encoder thread; AAC mixed from every microphone), as media seconds per
  CPU second of this process (`time.process_time`, every thread counted): the multiple of real time
  on one core. CPU share while recording = 1 / speed: the part of one core composition keeps busy.
- End → ready: the real app (SQLite, the real job registry and runner, SystemClock). Every window
  but the last is reported and composed as it would be during the session; then the session ends
  (the real `mark_ended`, whose hook finishes the recording), the final window is reported, and the
  clock runs until the recording is `ready`: the last part, the join of all parts, the transcript,
  the whiteboard and the raw tracks zip. Writes docs/bench/recording.md and recording.json.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
from aiohttp import web

from media_server import PresenceSpan, RecordedFile, RecordingSegment
from media_server.testing.synthetic import encode_opus_clip, encode_vp8_clip
from models.clock import SystemClock
from models.db import Database
from models.enums import SessionStatus
from models.tables import MentorSession, Recording
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account
from web.app import create_app
from web.config import load_config
from web.jobs import JOB_RUNNER
from web.recordings.compose.part import compose_window
from web.recordings.compose.timeline import Person, TrackPart, Window
from web.recordings.service import segment_reported
from web.recordings.storage import compose_settings
from web.room.service import mark_ended

OUT = Path(__file__).resolve().parents[1] / "docs" / "bench"
FPS_IN = 30


@dataclass
class Clips:
    video: list[bytes]
    audio: list[bytes]
    seconds: float


def make_clips(seconds: float) -> Clips:
    frames = round(seconds * FPS_IN)
    return Clips(encode_vp8_clip(frames, 640, 480, fps=FPS_IN, bitrate=800_000),
                 encode_opus_clip(round(seconds * 50)), seconds)


def write_track(path: Path, packets: list[bytes], start: float, video: bool) -> None:
    """Mux encoded packets as the recorder does: room-timeline timestamps, no encoding."""
    rate = 90000 if video else 48000
    step = rate // FPS_IN if video else 960
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream: Any
        if video:
            stream = container.add_stream("libvpx", rate=FPS_IN)
            stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        else:
            stream = container.add_stream("libopus", rate=48000)
            stream.layout = "stereo"
        # The muxer changes the stream's time base once the header is written: keep ours.
        time_base = stream.time_base = fractions.Fraction(1, rate)
        for i, data in enumerate(packets):
            packet = av.Packet(data)
            packet.pts = packet.dts = round(start * rate) + i * step
            packet.time_base = time_base
            packet.stream = stream
            if video and i == 0:
                packet.is_keyframe = True
            container.mux(packet)


def window_files(folder: Path, clips: Clips, people: int, index: int) -> list[RecordedFile]:
    start = index * clips.seconds
    files = []
    for p in range(people):
        for kind, packets in (("video", clips.video), ("audio", clips.audio)):
            path = folder / f"u{p}-{kind}-{index:04d}.webm"
            write_track(path, packets, start, kind == "video")
            files.append(RecordedFile(path=path, user_id=str(p + 1), participant_id=f"p{p}",
                                      source="camera" if kind == "video" else "microphone", kind=kind,
                                      codec="VP8" if kind == "video" else "opus", frames=len(packets),
                                      start_offset=start, duration=clips.seconds, publication_id=f"pub{p}{kind}",
                                      window=index))
    return files


@dataclass
class Speed:
    people: int
    media_seconds: float
    cpu_seconds: float
    wall_seconds: float

    @property
    def speed(self) -> float:
        return self.media_seconds / self.cpu_seconds

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.media_seconds


def measure_speed(folder: Path, clips: Clips, people: int) -> Speed:
    files = window_files(folder / f"speed{people}", clips, people, 0)
    window = Window(0.0, clips.seconds,
                    [TrackPart(f.path, f.participant_id, f.user_id, f.source, f.kind, 0.0, clips.seconds)
                     for f in files],
                    [Person(f"p{p}", str(p + 1), f"Person {p + 1}", "mentor" if p == 0 else "learner", 0.0, None)
                     for p in range(people)])
    settings = compose_settings(load_config(environ={}))
    cpu, wall = time.process_time(), time.perf_counter()
    compose_window(window, folder / f"speed{people}.mp4", settings)
    return Speed(people, clips.seconds, time.process_time() - cpu, time.perf_counter() - wall)


@dataclass
class Ready:
    session_minutes: float
    windows: int
    end_to_ready_seconds: float
    size_bytes: int


async def measure_end_to_ready(folder: Path, clips: Clips, minutes: float) -> Ready:
    windows = max(1, round(minutes * 60 / clips.seconds))
    config = load_config(environ={}, overrides={
        "database": {"url": f"sqlite+aiosqlite:///{folder / f'bench{minutes}.db'}"},
        "recordings": {"dir": str(folder / f"rec{minutes}")}, "workers": {"dispatcher": False},
        "web": {"secret": "bench-secret"},
    })
    db = Database(config.database_url)
    await db.create_all()
    clock = SystemClock()
    mentor = await create_account(db, clock, fast_test_hasher(), "mentor",
                                  {"email": "m@bench.io", "name": "Maya", "password": "pw1"})
    now = clock.now()
    async with db.session() as s:
        session = MentorSession(mentor_id=mentor.id or 0, title="Bench", start_at=now, room_code="benchroom",
                                record=True, status=SessionStatus.LIVE, went_live_at=now, created_at=now,
                                updated_at=now)
        s.add(session)
        await s.commit()
        session_id = session.id or 0
    app = create_app(config, clock=clock, passwords=fast_test_hasher(), database=db)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        presence = [PresenceSpan(f"p{p}", str(p + 1), f"Person {p + 1}", "mentor" if p == 0 else "learner", 0.0,
                                 None) for p in range(2)]
        room_dir = folder / f"rec{minutes}" / "benchroom"
        reports = [RecordingSegment("benchroom", "run1", i, i * clips.seconds, (i + 1) * clips.seconds,
                                    i == windows - 1, window_files(room_dir, clips, 2, i), presence)
                   for i in range(windows)]
        for report in reports[:-1]:
            # During the session: each window is composed as soon as it is reported.
            await segment_reported(app, report)
            await app[JOB_RUNNER].run_due()
        started = time.perf_counter()
        await mark_ended(app, session_id)
        await segment_reported(app, reports[-1])
        while True:
            await app[JOB_RUNNER].run_due()
            async with db.session() as s:
                recording = (await s.get(Recording, 1))
            if recording is not None and recording.status in ("ready", "partial", "failed"):
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        assert recording.status == "ready", recording.error
        return Ready(minutes, windows, elapsed, recording.size_bytes or 0)
    finally:
        await runner.cleanup()
        await db.dispose()


def machine() -> dict[str, object]:
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(), "av": av.__version__,
            "load_average": os.getloadavg()}


def table(speeds: list[Speed], readies: list[Ready], window: float) -> str:
    settings = compose_settings(load_config(environ={}))
    lines = [
        "# Recording composition",
        "",
        f"Synthetic per-track files (640x480 30 fps VP8 camera + Opus microphone per person), {window:.0f} s windows; "
        f"output 1280x720 H.264 {settings.fps} fps (x264 `{settings.preset}`, crf {settings.crf}, "
        f"{settings.threads} thread) + AAC. Made by `bench/recording.py`.",
        "",
        "| composition | media s | CPU s | speed (x real time, one core) | CPU share while recording |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in speeds:
        lines.append(f"| {s.people} people | {s.media_seconds:.0f} | {s.cpu_seconds:.2f} | {s.speed:.1f}x | "
                     f"{s.cpu_share:.0%} of a core |")
    lines += [
        "",
        "| session (simulated: synthetic track files, windows composed as reported) | windows | End → ready | MP4 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in readies:
        lines.append(f"| {r.session_minutes:g} min, 2 people | {r.windows} | {r.end_to_ready_seconds:.1f} s | "
                     f"{r.size_bytes / 1e6:.1f} MB |")
    lines += ["", "Targets: composition ≥ 4x real time on one core; ready ≤ 60 s after End for both lengths.",
              "The synthetic pictures carry random noise (so decoding costs what a camera costs); noise is what",
              "inflates the MP4 size here, a real camera compresses far better at the same crf.",
              f"Machine: {os.cpu_count()} cores shared with other work"
              f" (load average {os.getloadavg()[0]:.1f} at the end).",
              ""]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    window = 10.0 if args.quick else 30.0
    with tempfile.TemporaryDirectory(prefix="mentorlive-rec-bench-") as tmp:
        folder = Path(tmp)
        clips = make_clips(window)
        speeds = [measure_speed(folder, clips, people) for people in (2, 4)]
        readies = [await measure_end_to_ready(folder, clips, minutes) for minutes in ((2,) if args.quick else (2, 10))]
    text = table(speeds, readies, window)
    print(text)
    if not args.no_write:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "recording.md").write_text(text)
        (OUT / "recording.json").write_text(json.dumps({
            "machine": machine(), "window_seconds": window,
            "speed": [{**asdict(s), "speed": s.speed, "cpu_share": s.cpu_share} for s in speeds],
            "end_to_ready": [asdict(r) for r in readies]}, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
