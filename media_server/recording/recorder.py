"""Where a track is recorded: each publication to its own WebM (VP8/Opus) or MKV (H.264) files.

Each recorded publication gets a `TrackRecording`, one more sink on its forwarder:
on the event loop it only enqueues the shared av.Packet with its timestamp; the
writer thread copies and muxes it (`writer`). A publication that is rebound after a
reconnect keeps writing to the same file series.

The files are cut into windows of the room's timeline (`segment_seconds`); each finished
window is handed to `on_segment` with who was present during it, so the owner can compose
the recording while the session runs. A video track that must start a new file asks its
publisher for a keyframe through the publication.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av

from media_server.events import PresenceSpan, RecordedFile, RecordingSegment
from media_server.publication import Publication
from media_server.recording.writer import SegmentWriter, TrackFile, WindowReport, run_writer

# How often the writer is told the room's time, so windows close while tracks are silent.
TICK_SECONDS = 0.5


class TrackRecording:
    """The forwarder sink of one recorded publication."""

    uses_frames = True

    def __init__(self, inbox: queue.Queue[tuple[Any, ...]], publication_id: str) -> None:
        self._inbox = inbox
        self._id = publication_id

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        self._inbox.put(("frame", self._id, packet, packet.pts, keyframe, time.monotonic()))

    def close(self) -> None:
        self._inbox.put(("close", self._id))


class Recorder:
    def __init__(self, directory: Path, *, room: str = "", run: str = "", segment_seconds: float = 30.0,
                 grace: float = 2.0, on_segment: Callable[[RecordingSegment], None] | None = None) -> None:
        self.directory = directory
        self.room = room
        # Names this recorder's files and segments: a room reopened later records a new run.
        self.run = run or time.strftime("%Y%m%dT%H%M%S")
        self.start = time.monotonic()
        self._on_segment = on_segment
        self._loop = asyncio.get_running_loop()
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._files: dict[str, TrackFile] = {}
        self._known: dict[str, tuple[Publication, TrackRecording]] = {}
        self._presence: dict[str, list[Any]] = {}
        self._writer = SegmentWriter(self.start, self._files, segment_seconds=segment_seconds, grace=grace,
                                     report=self._from_thread_report, need_keyframe=self._from_thread_keyframe)
        self._thread = threading.Thread(target=run_writer, args=(self._inbox, self._writer), name="recorder",
                                        daemon=True)
        self._thread.start()
        self._finished = False
        self._ticker: asyncio.TimerHandle | None = self._loop.call_later(TICK_SECONDS, self._tick)

    def now(self) -> float:
        """Seconds on this recording's timeline."""
        return time.monotonic() - self.start

    # -- who is there (for the layout of the composed recording) ----------------------------
    def joined(self, participant_id: str, user_id: str, name: str, role: str) -> None:
        self._presence[participant_id] = [participant_id, user_id, name, role, self.now(), None]

    def left(self, participant_id: str) -> None:
        span = self._presence.get(participant_id)
        if span is not None and span[5] is None:
            span[5] = self.now()

    def _presence_during(self, start: float, end: float) -> list[PresenceSpan]:
        return [PresenceSpan(*span) for span in self._presence.values()
                if span[4] < end and (span[5] is None or span[5] > start)]

    # -- tracks ------------------------------------------------------------------------------
    def add(self, publication: Publication) -> None:
        """Record `publication` from its next frame on (again after a remove: same file series)."""
        if self._finished:
            return
        pub_id = publication.id
        known = self._known.get(pub_id)
        if known is None:
            codec = publication.codec.name if publication.kind == "video" else "opus"
            ext = "mkv" if codec == "H264" else "webm"
            name = f"{self.run}-{publication.user_id}-{publication.source}-{pub_id}.{ext}"
            meta = {"user_id": publication.user_id, "participant_id": publication.participant_id,
                    "source": publication.source, "kind": publication.kind, "codec": codec,
                    "publication_id": pub_id}
            track = TrackFile(self.directory / name, codec, publication.codec.clock_rate, meta)
            self._inbox.put(("open", pub_id, track))
            known = self._known[pub_id] = (publication, TrackRecording(self._inbox, pub_id))
        publication.forwarder.add(known[1])

    def remove(self, publication: Publication) -> None:
        known = self._known.get(publication.id)
        if known is not None:
            publication.forwarder.remove(known[1])
        self._inbox.put(("close", publication.id))

    # -- the thread's reports, brought back to the event loop --------------------------------
    def _tick(self) -> None:
        self._inbox.put(("tick", time.monotonic()))
        self._ticker = self._loop.call_later(TICK_SECONDS, self._tick)

    def _from_thread_keyframe(self, publication_id: str) -> None:
        self._loop.call_soon_threadsafe(self._request_keyframe, publication_id)

    def _request_keyframe(self, publication_id: str) -> None:
        known = self._known.get(publication_id)
        if known is not None and not known[0].ended:
            known[0].request_keyframe()

    def _from_thread_report(self, report: WindowReport) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._segment_done, report)

    def _segment_done(self, report: WindowReport) -> None:
        if self._on_segment is None:
            return
        self._on_segment(RecordingSegment(
            room=self.room, run=self.run, index=report.index, start=report.start, end=report.end,
            final=report.final, files=report.files, presence=self._presence_during(report.start, report.end),
        ))

    async def finish(self) -> list[RecordedFile]:
        """Close every file and report the last windows; every file recorded, all windows."""
        if not self._finished:
            self._finished = True
            if self._ticker is not None:
                self._ticker.cancel()
            end = time.monotonic()
            for span in self._presence.values():
                if span[5] is None:
                    span[5] = end - self.start
            for publication, sink in self._known.values():
                publication.forwarder.remove(sink)
            self._inbox.put(("stop", end))
            await self._loop.run_in_executor(None, self._thread.join)
            # Let the windows the thread reported on its way out reach the owner before we return.
            await asyncio.sleep(0)
        return list(self._writer.all_files)
