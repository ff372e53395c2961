"""The benchmark's light subscriber: counts forwarded media from RTP headers, decodes nothing.

aiortc's transports still do the real work of a receiver up to DTLS (ICE with its consent
checks, the DTLS handshake, SRTCP and RTCP). RTP is taken off the socket before aiortc sees
it: in light mode the load process wraps aioice's `StunProtocol.datagram_received`, and once a
transport has delivered its first RTP packet through aiortc (which names the transport, its SRTP
session and its payload types), every later RTP datagram on that ICE connection is counted from
its header, which SRTP leaves in the clear: kind by payload type, a frame on the marker bit. Only
a frame's first packet (a new RTP timestamp) is unprotected, with the transport's own SRTP
session, to match the clip frame it carries (the first bytes after the VP8 payload descriptor are
the frame's first bytes), so latency is publisher hand-off to last packet received, with no
decoder in the way. The rest (SRTP for three packets in four, aioice's queue, aiortc's receive
task, RtpPacket parsing) is skipped: a light subscriber costs the load process a few µs per packet,
so that the load clients leave the cores to the SFUs under test. Nothing reaches aiortc's
receivers (no jitter buffer, NACK or PLI from these subscribers).

The same hook serves every mode: the SFU behind it (ours or Janus) never knows. Transports the
`full` predicate claims (the struggling viewers, bench.sfu_forwarding_struggling) keep aiortc's
own handling.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
from aioice.ice import StunProtocol
from aiortc.rtcdtlstransport import RTCDtlsTransport

# How many of a frame's first bytes identify it among the clip's frames.
PREFIX = 24
LIGHT_ATTRIBUTE = "_bench_light"
# LIGHT_ATTRIBUTE's value on a transport that keeps aiortc's receiving (a full receiver).
FULL = "full"
RECEIVER_KIND = "_RTCRtpReceiver__kind"


def rtp_payload_offset(data: bytes) -> int:
    """Where the payload starts: after the fixed header, CSRCs and the extension block."""
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    return offset


def vp8_frame_start(payload: bytes) -> int | None:
    """Offset of the VP8 frame data in a packet starting a frame (S=1, partition 0), else None."""
    if not payload:
        return None
    first = payload[0]
    if not first & 0x10 or first & 0x07:
        return None
    offset = 1
    if first & 0x80:
        extension = payload[1]
        offset = 2
        if extension & 0x80:  # I: picture id, one or two bytes
            offset += 2 if payload[offset] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            offset += 1
        if extension & 0x30:  # T or K: TID/KEYIDX byte
            offset += 1
    return offset


def clip_index(frames: Sequence[bytes]) -> dict[bytes, int]:
    """Frame prefix -> clip index, for the frames a prefix identifies unambiguously."""
    seen: dict[bytes, int] = {}
    clashes: set[bytes] = set()
    for i, frame in enumerate(frames):
        key = frame[:PREFIX]
        if key in seen:
            clashes.add(key)
        seen[key] = i
    return {k: v for k, v in seen.items() if k not in clashes}


@dataclass
class LatencySink:
    """Shared by every subscriber's stats: latencies are kept only while `samples` is a list."""

    samples: list[float] | None = None


@dataclass
class LightStats:
    """What one subscriber's transport received."""

    index: dict[bytes, int]
    send_times: dict[int, float]
    sink: LatencySink = field(default_factory=LatencySink)
    video_packets: int = 0
    audio_packets: int = 0
    frames: int = 0
    kinds: dict[int, str] = field(default_factory=dict)
    # Set when the transport's RTP is taken off the socket (`on_srtp`).
    srtp: pylibsrtp.Session | None = None
    router: Any = None
    _timestamp: int = -1
    _frame: int | None = None

    @property
    def packets(self) -> int:
        return self.video_packets + self.audio_packets

    def kind_of(self, pt: int) -> str | None:
        kind = self.kinds.get(pt)
        if kind is None and self.router is not None:
            receivers = self.router.payload_type_table.get(pt)
            if receivers:
                kind = self.kinds[pt] = str(getattr(next(iter(receivers)), RECEIVER_KIND))
        return kind

    def on_rtp(self, data: bytes, kind: str) -> None:
        """An RTP packet in the clear (aiortc unprotected it)."""
        self._count(data, kind, None)

    def on_srtp(self, data: bytes) -> None:
        """An SRTP packet straight off the socket: its header is in the clear, its payload not."""
        kind = self.kind_of(data[1] & 0x7F)
        if kind is not None:
            self._count(data, kind, self.srtp)

    def _count(self, data: bytes, kind: str, srtp: pylibsrtp.Session | None) -> None:
        if kind == "audio":
            self.audio_packets += 1
            return
        self.video_packets += 1
        (timestamp,) = struct.unpack_from("!I", data, 4)
        if timestamp != self._timestamp:
            # A new frame's first packet (loopback does not reorder): which clip frame is it?
            self._timestamp = timestamp
            self._frame = None
            plain = data
            if srtp is not None:
                try:
                    plain = srtp.unprotect(data)
                except pylibsrtp.Error:
                    plain = b""
            if plain:
                payload_at = rtp_payload_offset(plain)
                start = vp8_frame_start(plain[payload_at : payload_at + 8])
                if start is not None:
                    at = payload_at + start
                    self._frame = self.index.get(plain[at : at + PREFIX])
        if data[1] & 0x80:  # marker: the frame's last packet
            self.frames += 1
            samples = self.sink.samples
            if samples is not None and self._frame is not None:
                sent = self.send_times.get(self._frame)
                if sent is not None:
                    delay = time.time() - sent
                    if 0 <= delay < 5:
                        samples.append(delay)


def never(transport: RTCDtlsTransport) -> bool:
    return False


def is_rtp(data: bytes) -> bool:
    """RTP (version 2), not RTCP (packet types 192-223 where RTP has its payload type)."""
    return 127 < data[0] < 192 and not 191 < data[1] < 224


def install_light_receiving(
    make_stats: Callable[[], LightStats],
    full: Callable[[RTCDtlsTransport], bool] = never,
) -> Callable[[RTCDtlsTransport], LightStats | None]:
    """Replaces RTP handling in this process (light mode), except on the transports `full`
    claims (asked once per transport, at its first RTP packet); returns the per-transport lookup."""
    original = RTCDtlsTransport._handle_rtp_data
    original_datagram = StunProtocol.datagram_received

    async def handle(self: RTCDtlsTransport, data: bytes, arrival_time_ms: int) -> None:
        stats: LightStats | str | None = getattr(self, LIGHT_ATTRIBUTE, None)
        if stats is None:
            stats = FULL if full(self) else make_stats()
            setattr(self, LIGHT_ATTRIBUTE, stats)
            if isinstance(stats, LightStats):
                # From the next datagram on, this ICE connection's RTP skips aiortc (`datagram`).
                stats.srtp, stats.router = self._rx_srtp, self._rtp_router
                setattr(self.transport._connection, LIGHT_ATTRIBUTE, stats)
        if not isinstance(stats, LightStats):  # FULL
            await original(self, data, arrival_time_ms)
            return
        kind = stats.kind_of(data[1] & 0x7F)
        if kind is not None:
            stats.on_rtp(data, kind)

    def datagram(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
        stats = getattr(self.receiver, LIGHT_ATTRIBUTE, None)
        if stats is not None and isinstance(data, bytes) and len(data) > 12 and is_rtp(data):
            stats.on_srtp(data)
            return
        original_datagram(self, data, addr)

    RTCDtlsTransport._handle_rtp_data = handle  # type: ignore[method-assign]
    StunProtocol.datagram_received = datagram  # type: ignore[method-assign]

    def lookup(transport: RTCDtlsTransport) -> LightStats | None:
        found: Any = getattr(transport, LIGHT_ATTRIBUTE, None)
        return found if isinstance(found, LightStats) else None

    return lookup
