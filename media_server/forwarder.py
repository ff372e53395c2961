"""Where the SFU fans out media: from one publication to its sinks (subscriptions, a recording).

Two paths leave here. Frame sinks (`add()`: a recording, a subscription on the frame
path) get each depacketized frame as one av.Packet all of them share (pack() only reads
it). Raw sinks (`add_raw()`: `raw_egress.RawEgress`, the default for subscriptions) get
each ingress RTP packet (`on_packet`, after SRTP unprotect and RTX unwrapping) with what
is the same for every subscriber computed once: the timestamp (kept continuous across a
publisher reconnect), whether a decoder can start here (a keyframe's first packet the
publisher just sent, not a late repair), abs-send-time, and the audio level byte.

The forwarder owns its sinks: they join with `add()`/`add_raw()` and leave with
`remove()`/`remove_raw()`, and `close()` (the publication ended) closes every one of
them, so closing cascades down. A recorder is just another frame sink.

Runs on the event loop for every frame and every packet, so it does no I/O, no logging
and no allocation beyond the shared av.Packet and abs-send-time bytes.
"""

from __future__ import annotations

import fractions
import logging
import time
from typing import Protocol

import av
from aiortc.rtp import RtpPacket

from media_server.codecs import CodecChoice, is_keyframe
from media_server.rtp_bytes import SILENT_LEVEL_BYTE, SendClock, starts_keyframe

log = logging.getLogger(__name__)


class Sink(Protocol):
    """What a forwarder delivers frames to (a Subscription, a recording track)."""

    # False while the sink takes nothing from the frame path (a subscription on the raw path):
    # no frame object is built for it.
    uses_frames: bool

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        """Take one frame; called on the event loop per frame, so it must not block or log."""

    def close(self) -> None:
        """The source ended: no frame follows."""


class RawSink(Protocol):
    """What a forwarder delivers RTP packets to (raw_egress.RawEgress)."""

    def forward(
        self, seq: int, timestamp: int, marker: int, payload: bytes, key: bool, send_time: bytes, level: int
    ) -> None:
        """One ingress packet; called on the event loop per packet, so it must not block or log."""

    def restart(self) -> None:
        """The publisher's stream restarted (new SSRC and sequence space)."""

    def close(self) -> None:
        """The source ended: no packet follows."""


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
        self.clock = SendClock()
        self._raw: dict[RawSink, None] = {}
        self._raw_offset = 0
        self._raw_last: tuple[int, float] | None = None
        self._raw_rebase = False
        # The publisher's newest sequence number: a late repair of an old keyframe is no start point.
        self._raw_newest: int | None = None
        self._video = codec.kind == "video"
        self._codec_name = codec.name
        self.packets_in = 0
        self.raw_failures = 0

    @property
    def raw_sinks(self) -> tuple[RawSink, ...]:
        return tuple(self._raw)

    def add_raw(self, sink: RawSink) -> None:
        """Deliver every following RTP packet to `sink` (adding it twice changes nothing)."""
        self._raw[sink] = None

    def remove_raw(self, sink: RawSink) -> None:
        self._raw.pop(sink, None)

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
        raw = list(self._raw)
        self._raw.clear()
        for raw_sink in raw:
            raw_sink.close()

    def resync(self) -> None:
        """Frames were lost for good: hold every delta frame back until the next keyframe,
        so no subscriber (and no recording) gets a picture that references a missing one."""
        self._need_keyframe = self.codec.kind == "video"

    def new_source(self) -> None:
        """The publisher reconnected: its timestamps restart, ours must not jump back."""
        self._rebase = True
        self._raw_rebase = True
        self._raw_newest = None
        for sink in self._raw:
            sink.restart()

    def on_packet(self, packet: RtpPacket) -> None:
        """One ingress RTP packet (after SRTP unprotect and RTX unwrapping) to every raw sink."""
        self.packets_in += 1
        now = time.monotonic()
        timestamp = packet.timestamp
        if self._raw_rebase:
            self._raw_rebase = False
            if self._raw_last is not None:
                last_ts, last_at = self._raw_last
                gap = max(int((now - last_at) * self.codec.clock_rate), 1)
                self._raw_offset = (last_ts + gap - timestamp) & 0xFFFFFFFF
        out = (timestamp + self._raw_offset) & 0xFFFFFFFF
        seq, marker = packet.sequence_number, packet.marker
        # Tracked with or without raw sinks: a newest number left behind while nobody subscribed
        # would, half the sequence space later, make every new packet look old to the next one.
        # A packet reordered behind a newer one counts as old too (no start point).
        newest = self._raw_newest
        fresh = newest is None or (seq - newest) & 0xFFFF < 0x8000
        if fresh:
            self._raw_newest = seq
            self._raw_last = (out, now)
        raw = self._raw
        if not raw:
            return
        payload = packet.payload
        # A subscriber waiting for a start point starts at a keyframe the publisher just sent, never
        # at a retransmission of an older one: the packets between were never sent to it.
        key = fresh and starts_keyframe(self._codec_name, payload) if self._video else True
        send_time = self.clock.abs_send_time(now)
        audio_level = packet.extensions.audio_level
        level = SILENT_LEVEL_BYTE if audio_level is None else (0x80 if audio_level[0] else 0) | audio_level[1]
        failed: list[tuple[RawSink, Exception]] | None = None
        for sink in raw:
            try:
                sink.forward(seq, out, marker, payload, key, send_time, level)
            except Exception as exc:  # one subscriber's failure must not stop the publisher's receive loop
                failed = [*(failed or []), (sink, exc)]
        if failed:
            self._drop_failed(failed)

    def _drop_failed(self, failed: list[tuple[RawSink, Exception]]) -> None:
        """Not the hot path: a raw sink raised; it is closed and the error recorded once
        (with its traceback: the handler has exited, so it is passed on explicitly)."""
        log.error("raw forwarding to a subscriber failed; that subscription stops", exc_info=failed[0][1])
        for sink, _ in failed:
            self._raw.pop(sink, None)
            sink.close()
        self.raw_failures += len(failed)

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
        packet: av.Packet | None = None
        for sink in self._sinks:
            if sink.uses_frames:  # most subscribers are on the raw path: build the frame only if taken
                if packet is None:
                    packet = av.Packet(data)
                    packet.pts = out
                    packet.time_base = self.time_base
                sink.offer(packet, key)
