"""A recorded session whose windows are reported as the media node reports them, from synthetic track files:
the compose pipeline, permissions and retention without real peers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from media_server import PresenceSpan, RecordedFile, RecordingSegment
from models.clock import ManualClock
from tests.integration.after_session.cast import Cast, run_session, user_id
from tests.support.recordings import BLUE, RED, write_audio_track, write_video_track
from web.keys import CONFIG
from web.recordings.service import segment_reported
from web.recordings.storage import recordings_root

RUN = "20300101T100000"


@dataclass
class Recorded:
    session: dict[str, Any]
    room_code: str
    seconds: float


async def report_windows(app: web.Application, room_code: str, people: list[tuple[str, str, str]], *,
                         windows: int, length: float, final: bool = True, first: int = 0) -> None:
    """Write each person's camera and microphone for `windows` windows and report them, as the node does.

    `people`: (user id, name, role); the first is red and speaks at 440 Hz, the second blue at 880 Hz.
    """
    root = recordings_root(app[CONFIG])
    colors, tones = [RED, BLUE], [440.0, 880.0]
    presence = [PresenceSpan(f"p{uid}", uid, name, role, 0.0, None) for uid, name, role in people]
    for index in range(first, first + windows):
        start = index * length
        files: list[RecordedFile] = []
        for n, (uid, _name, _role) in enumerate(people):
            video = Path(root / room_code / f"{RUN}-{uid}-camera-pub{n}-{index:03d}.webm")
            audio = Path(root / room_code / f"{RUN}-{uid}-microphone-pub{n}m-{index:03d}.webm")
            write_video_track(video, colors[n % 2], start, length, fps=15, size=(320, 240))
            write_audio_track(audio, tones[n % 2], start, length)
            for path, source, kind in ((video, "camera", "video"), (audio, "microphone", "audio")):
                files.append(RecordedFile(path=path, user_id=uid, participant_id=f"p{uid}", source=source,
                                          kind=kind, codec="VP8" if kind == "video" else "opus", frames=1,
                                          start_offset=start, duration=length, publication_id=f"pub{n}{kind[0]}",
                                          window=index))
        await segment_reported(app, RecordingSegment(
            room=room_code, run=RUN, index=index, start=start, end=start + length,
            final=final and index == first + windows - 1, files=files, presence=presence))


async def recorded_session(cast: Cast, clock: ManualClock, app: web.Application, *, windows: int = 2,
                           length: float = 1.0, end: bool = True, final: bool = True) -> Recorded:
    session = await run_session(cast, clock, end=False, record=True, title="Design review: caching")
    people = [(str(await user_id(cast.mentor)), "Maya Mentor", "mentor"),
              (str(await user_id(cast.learner)), "Lena Learner", "learner")]
    await report_windows(app, session["room_code"], people, windows=windows, length=length, final=final)
    if end:
        await cast.mentor.json("POST", f"/api/sessions/{session['id']}/end", 200)
    return Recorded(session, session["room_code"], windows * length)
