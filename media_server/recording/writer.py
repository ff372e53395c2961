"""The recorder's thread side: muxes forwarded frames into segment files, one series per publication.

Only this thread touches PyAV containers. Streams are declared with the codec so the
container header is right; the frames are written as they arrived (remuxed, never decoded
or encoded).

Segments let the recording be composed while the session runs: the room's timeline is cut
into windows of `segment_seconds`, and each publication's frames go to one file per window.
An audio file is cut exactly at the boundary; a video file can only start on a keyframe, so
a video track that crosses a boundary keeps writing to its old file while it asks for a
keyframe (`need_keyframe`), and the new file starts with that keyframe. A window is reported
(`report`) once the room's clock is `grace` past its end: every file of it is then closed,
and a video track still waiting for its keyframe drops delta frames until one comes.
Timestamps in every file are on the room's timeline (seconds since the recording started).
"""

from __future__ import annotations

import fractions
import logging
import math
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from media_server.codecs import vp8_size
from media_server.events import RecordedFile

log = logging.getLogger(__name__)

# A pause longer than this between two frames of a track is a gap (a reconnect, a muted sender).
GAP_SECONDS = 1.0
# How often a video track waiting for a keyframe asks again (the requester throttles further).
KEYFRAME_RETRY_SECONDS = 0.5


@dataclass
class WindowReport:
    """One finished window: the files it holds (closed, complete) and where it ends."""

    index: int
    start: float
    end: float
    final: bool
    files: list[RecordedFile]


@dataclass
class Segment:
    path: Path
    window: int
    container: Any
    stream: Any
    first_pts: int | None = None
    last_pts: int = -1
    frames: int = 0
    gaps: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class TrackFile:
    """One publication's series of segment files. `path` is the first file's name."""

    path: Path
    codec_name: str  # VP8 | H264 | opus
    clock_rate: int
    meta: dict[str, Any]
    segment_seconds: float = math.inf
    anchor_ts: int | None = None
    anchor_pts: int = 0
    last_pts: int = -1
    frames: int = 0
    first_pts: int | None = None
    failed: bool = False
    current: Segment | None = None
    cut_pending: bool = False
    keyframe_asked_at: float = -math.inf
    sequence: int = 0
    last_time: float | None = None
    time_base: fractions.Fraction = field(default_factory=lambda: fractions.Fraction(1, 90000))

    @property
    def video(self) -> bool:
        return self.codec_name != "opus"

    def window_of(self, seconds: float) -> int:
        return int(seconds // self.segment_seconds) if math.isfinite(self.segment_seconds) else 0

    def write(self, data: bytes, ts: int, key: bool, arrival: float, start: float, writer: SegmentWriter) -> None:
        if self.failed:
            return
        if self.current is None and self.video and not key:
            # A file starts on a keyframe; until one comes, keep asking.
            self._ask_keyframe(arrival, writer)
            return
        wall_pts = int((arrival - start) * self.clock_rate)
        pts = self.anchor_pts + (ts - self.anchor_ts) if self.anchor_ts is not None else -1
        if self.anchor_ts is None or ts < self.anchor_ts or abs(pts - wall_pts) > self.clock_rate // 2:
            # Position the stream on the room's timeline by arrival time, then follow its
            # own RTP clock so frames keep their exact spacing; re-anchor when the two
            # disagree by half a second (a sender paused while muted, a reconnect) so
            # audio and video stay aligned.
            self.anchor_ts = ts
            self.anchor_pts = max(wall_pts, self.last_pts + 1)
            pts = self.anchor_pts
        if pts <= self.last_pts:
            return
        seconds = pts / self.clock_rate
        window = max(self.window_of(seconds), writer.next_report)
        if self.current is not None and window > self.current.window:
            if self.video and not key:
                self.cut_pending = True
                self._ask_keyframe(arrival, writer)
            else:
                writer.close_segment(self)
        if self.current is None:
            self._open(data, window)
            if self.current is None:
                return
        segment = self.current
        if self.last_time is not None and seconds - self.last_time > GAP_SECONDS:
            segment.gaps.append((round(self.last_time, 3), round(seconds, 3)))
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = self.time_base
        packet.stream = segment.stream
        if key:
            packet.is_keyframe = True
        segment.container.mux(packet)
        self.last_pts = segment.last_pts = pts
        self.last_time = seconds
        self.frames += 1
        segment.frames += 1
        if self.first_pts is None:
            self.first_pts = pts
        if segment.first_pts is None:
            segment.first_pts = pts

    def _ask_keyframe(self, arrival: float, writer: SegmentWriter) -> None:
        if arrival - self.keyframe_asked_at >= KEYFRAME_RETRY_SECONDS:
            self.keyframe_asked_at = arrival
            writer.need_keyframe(self.meta["publication_id"])

    def _segment_path(self) -> Path:
        if self.sequence == 0:
            return self.path
        return self.path.with_name(f"{self.path.stem}-{self.sequence:03d}{self.path.suffix}")

    def _open(self, data: bytes, window: int) -> None:
        self.time_base = fractions.Fraction(1, self.clock_rate)
        path = self._segment_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            container = av.open(str(path), "w")
            stream: Any
            if self.codec_name == "opus":
                stream = container.add_stream("libopus", rate=48000)
                stream.layout = "stereo"
            else:
                size = vp8_size(data) if self.codec_name == "VP8" else None
                stream = container.add_stream("libvpx" if self.codec_name == "VP8" else "libx264", rate=30)
                stream.width, stream.height = size or (640, 480)
                stream.pix_fmt = "yuv420p"
            stream.time_base = self.time_base
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("recording %s cannot start: %s", path, exc)
            self.failed = True
            return
        self.sequence += 1
        self.cut_pending = False
        self.current = Segment(path, window, container, stream)

    def close(self) -> Segment | None:
        """Close the open file, if any; the segment it held (None when nothing was written)."""
        segment, self.current = self.current, None
        self.cut_pending = False
        if segment is None:
            return None
        try:
            segment.container.close()
        except av.FFmpegError as exc:
            log.warning("recording %s did not close cleanly: %s", segment.path, exc)
        return segment if segment.frames else None

    def recorded(self, segment: Segment) -> RecordedFile:
        meta = self.meta
        first = (segment.first_pts or 0) / self.clock_rate
        return RecordedFile(
            path=segment.path,
            user_id=meta["user_id"],
            participant_id=meta["participant_id"],
            source=meta["source"],
            kind=meta["kind"],
            codec=meta["codec"],
            frames=segment.frames,
            start_offset=first,
            duration=segment.last_pts / self.clock_rate - first,
            publication_id=meta["publication_id"],
            window=segment.window,
            gaps=tuple(segment.gaps),
        )


class SegmentWriter:
    """The thread's state: the tracks, the closed files not yet reported, the next window to report."""

    def __init__(self, start: float, files: dict[str, TrackFile], *, segment_seconds: float, grace: float,
                 report: Callable[[WindowReport], None], need_keyframe: Callable[[str], None]) -> None:
        self.start = start
        self.files = files
        self.segment_seconds = segment_seconds
        self.grace = grace
        self.report = report
        self.need_keyframe = need_keyframe
        self.next_report = 0
        self.closed: list[RecordedFile] = []
        self.all_files: list[RecordedFile] = []

    def close_segment(self, track: TrackFile) -> None:
        segment = track.close()
        if segment is not None:
            recorded = track.recorded(segment)
            self.closed.append(recorded)
            self.all_files.append(recorded)

    def advance(self, now: float) -> None:
        """The room's clock reached `now` seconds: report every window that ended `grace` ago."""
        if not math.isfinite(self.segment_seconds):
            return
        while now >= (self.next_report + 1) * self.segment_seconds + self.grace:
            index = self.next_report
            for track in self.files.values():
                if track.current is not None and track.current.window <= index:
                    self.close_segment(track)
            self._report(index, (index + 1) * self.segment_seconds, final=False)

    def finish(self, end: float) -> None:
        for track in self.files.values():
            self.close_segment(track)
        length = self.segment_seconds
        last = max(self.next_report, math.ceil(end / length) - 1 if math.isfinite(length) else 0)
        last = max([last, *(f.window for f in self.closed)])
        while self.next_report <= last:
            index = self.next_report
            final = index == last
            window_end = max(end, self.next_report * length if math.isfinite(length) else 0.0) if final \
                else (index + 1) * length
            self._report(index, window_end, final=final)

    def _report(self, index: int, end: float, *, final: bool) -> None:
        files = [f for f in self.closed if f.window <= index]
        self.closed = [f for f in self.closed if f.window > index]
        start = index * self.segment_seconds if math.isfinite(self.segment_seconds) else 0.0
        self.next_report = index + 1
        try:
            self.report(WindowReport(index, start, end, final, files))
        except Exception:
            log.exception("reporting recording window %d failed", index)


def run_writer(inbox: queue.Queue[tuple[Any, ...]], writer: SegmentWriter) -> None:
    """Thread body: ("open", id, TrackFile) | ("frame", id, av.Packet, ts, key, t) | ("close", id)
    | ("tick", t) | ("stop", t).

    The packet is the one the forwarder shares with the subscribers' senders, which only
    read it; its bytes are copied here, off the event loop.
    """
    files = writer.files
    while True:
        item = inbox.get()
        kind = item[0]
        if kind == "frame":
            track = files.get(item[1])
            if track is not None:
                try:
                    track.write(bytes(item[2]), item[3], item[4], item[5], writer.start, writer)
                except (av.FFmpegError, ValueError) as exc:
                    log.warning("recording %s dropped a frame: %s", track.path, exc)
                writer.advance(item[5] - writer.start)
        elif kind == "open":
            track = files.setdefault(item[1], item[2])
            track.segment_seconds = writer.segment_seconds
        elif kind == "close":
            track = files.get(item[1])
            if track is not None:
                writer.close_segment(track)
        elif kind == "tick":
            writer.advance(item[1] - writer.start)
        elif kind == "stop":
            writer.finish(item[1] - writer.start)
            return
