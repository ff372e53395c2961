"""The recorder's thread side: muxes forwarded frames into one file per publication.

Only this thread touches PyAV containers. Streams are declared with the codec so
the container header is right; the frames are written as they arrived (remuxed,
never decoded or encoded).
"""

from __future__ import annotations

import fractions
import logging
import queue
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from media_server.codecs import vp8_size

log = logging.getLogger(__name__)


@dataclass
class TrackFile:
    path: Path
    codec_name: str  # VP8 | H264 | opus
    clock_rate: int
    meta: dict[str, Any]
    container: Any = None
    stream: Any = None
    anchor_ts: int | None = None
    anchor_pts: int = 0
    last_pts: int = -1
    frames: int = 0
    first_pts: int | None = None
    failed: bool = False
    time_base: fractions.Fraction = field(default_factory=lambda: fractions.Fraction(1, 90000))

    def write(self, data: bytes, ts: int, key: bool, arrival: float, start: float) -> None:
        if self.failed:
            return
        if self.container is None:
            if self.codec_name != "opus" and not key:
                return  # a file starts on a keyframe
            self._open(data)
            if self.container is None:
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
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = self.time_base
        packet.stream = self.stream
        if key:
            packet.is_keyframe = True
        self.container.mux(packet)
        self.last_pts = pts
        self.frames += 1
        if self.first_pts is None:
            self.first_pts = pts

    def _open(self, data: bytes) -> None:
        self.time_base = fractions.Fraction(1, self.clock_rate)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            container = av.open(str(self.path), "w")
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
            self.container, self.stream = container, stream
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("recording %s cannot start: %s", self.path, exc)
            self.failed = True

    def close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except av.FFmpegError as exc:
                log.warning("recording %s did not close cleanly: %s", self.path, exc)
            self.container = None


def run_writer(inbox: queue.Queue[tuple[Any, ...]], start: float, files: dict[str, TrackFile]) -> None:
    """Thread body: ("open", id, TrackFile) | ("frame", id, av.Packet, ts, key, t) | ("close", id) | ("stop",).

    The packet is the one the forwarder shares with the subscribers' senders, which only
    read it; its bytes are copied here, off the event loop.
    """
    while True:
        item = inbox.get()
        kind = item[0]
        if kind == "frame":
            track = files.get(item[1])
            if track is not None:
                try:
                    track.write(bytes(item[2]), item[3], item[4], item[5], start)
                except (av.FFmpegError, ValueError) as exc:
                    log.warning("recording %s dropped a frame: %s", track.path, exc)
        elif kind == "open":
            files.setdefault(item[1], item[2])
        elif kind == "close":
            track = files.get(item[1])
            if track is not None:
                track.close()
        elif kind == "stop":
            for track in files.values():
                track.close()
            return
