"""Where the SFU fans out a frame: from one publication to its sinks (subscriptions, a recording).

The forwarder owns its sinks: they join with `add()` and leave with `remove()`, and
`close()` (the publication ended) closes every one of them, so closing cascades down.
A recorder is just another sink.

Runs on the event loop for every frame, so it does no I/O, no logging and no
allocation beyond the one av.Packet all sinks share (pack() only reads it).
"""

from __future__ import annotations

import fractions
import time
from typing import Protocol

import av

from media_server.codecs import CodecChoice, is_keyframe


class Sink(Protocol):
    """What a forwarder delivers frames to (a Subscription, a recording track)."""

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        """Take one frame; called on the event loop per frame, so it must not block or log."""

    def close(self) -> None:
        """The source ended: no frame follows."""


class Forwarder:
    def __init__(self, codec: CodecChoice) -> None:
        self.codec = codec
        self.time_base = fractions.Fraction(1, codec.clock_rate)
        self._sinks: dict[Sink, None] = {}  # an insertion-ordered set
        self.frames_in = 0
        self.bytes_in = 0
        self.keyframes_in = 0
        self.last_frame_at: float | None = None
        self._offset = 0
        self._last_out: int | None = None
        self._rebase = False
        self._need_keyframe = False
        self.frames_dropped = 0

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return tuple(self._sinks)

    def add(self, sink: Sink) -> None:
        """Deliver every following frame to `sink` too (adding it twice changes nothing)."""
        self._sinks[sink] = None

    def remove(self, sink: Sink) -> None:
        self._sinks.pop(sink, None)

    def close(self) -> None:
        """The publication ended: close every sink and forget them."""
        sinks = list(self._sinks)
        self._sinks.clear()
        for sink in sinks:
            sink.close()

    def resync(self) -> None:
        """Frames were lost for good: hold every delta frame back until the next keyframe,
        so no subscriber (and no recording) gets a picture that references a missing one."""
        self._need_keyframe = self.codec.kind == "video"

    def new_source(self) -> None:
        """The publisher reconnected: its timestamps restart, ours must not jump back."""
        self._rebase = True

    def on_frame(self, data: bytes, timestamp: int) -> None:
        now = time.monotonic()
        if self._rebase:
            self._rebase = False
            if self._last_out is not None and self.last_frame_at is not None:
                gap = int((now - self.last_frame_at) * self.codec.clock_rate)
                self._offset = self._last_out + max(gap, 1) - timestamp
        out = timestamp + self._offset
        self._last_out = out
        key = is_keyframe(self.codec.name, data)
        if self._need_keyframe:
            if not key:
                self.frames_dropped += 1
                return
            self._need_keyframe = False
        self.frames_in += 1
        self.bytes_in += len(data)
        self.last_frame_at = now
        if key and self.codec.kind == "video":
            self.keyframes_in += 1
        packet = av.Packet(data)
        packet.pts = out
        packet.time_base = self.time_base
        for sink in self._sinks:
            sink.offer(packet, key)
