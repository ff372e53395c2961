"""The benchmark's light subscriber: counts forwarded media from RTP headers, decodes nothing.

aiortc's DTLS transport still does the real work of a receiver up to SRTP (ICE, DTLS,
SRTP unprotect with authentication, RTCP), then hands each RTP packet to
`RTCDtlsTransport._handle_rtp_data`, which parses an RtpPacket and feeds the receiver's
jitter buffer and decoder queue. In light mode the load process replaces that one method:
the packet is classified by payload type (the kind of the receiver registered for it),
counted, and for VP8 a frame is counted on its marker bit; the frame's first packet is
matched to the clip frame it carries (the first bytes after the VP8 payload descriptor are
the frame's first bytes), so latency is publisher hand-off to last packet received, with no
decoder in the way. Nothing else reaches aiortc's receivers (no jitter buffer, NACK or PLI
from these subscribers), which is what lets one load process hold 64+ subscribers on 2 cores.

The same hook serves every mode: the SFU behind it (ours or Janus) never knows.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport

# How many of a frame's first bytes identify it among the clip's frames.
PREFIX = 24
LIGHT_ATTRIBUTE = "_bench_light"
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
    _timestamp: int = -1
    _frame: int | None = None

    @property
    def packets(self) -> int:
        return self.video_packets + self.audio_packets

    def on_rtp(self, data: bytes, kind: str) -> None:
        if kind == "audio":
            self.audio_packets += 1
            return
        self.video_packets += 1
        (timestamp,) = struct.unpack_from("!I", data, 4)
        payload_at = rtp_payload_offset(data)
        if timestamp != self._timestamp:
            self._timestamp = timestamp
            self._frame = None
        start = vp8_frame_start(data[payload_at : payload_at + 8])
        if start is not None:
            at = payload_at + start
            self._frame = self.index.get(data[at : at + PREFIX])
        if data[1] & 0x80:  # marker: the frame's last packet
            self.frames += 1
            samples = self.sink.samples
            if samples is not None and self._frame is not None:
                sent = self.send_times.get(self._frame)
                if sent is not None:
                    delay = time.time() - sent
                    if 0 <= delay < 5:
                        samples.append(delay)


def install_light_receiving(
    make_stats: Callable[[], LightStats],
) -> Callable[[RTCDtlsTransport], LightStats | None]:
    """Replaces RTP handling in this process (light mode); returns the per-transport lookup."""

    async def handle(self: RTCDtlsTransport, data: bytes, arrival_time_ms: int) -> None:
        stats: LightStats | None = getattr(self, LIGHT_ATTRIBUTE, None)
        if stats is None:
            stats = make_stats()
            setattr(self, LIGHT_ATTRIBUTE, stats)
        pt = data[1] & 0x7F
        kind = stats.kinds.get(pt)
        if kind is None:
            receivers = self._rtp_router.payload_type_table.get(pt)
            if not receivers:
                return
            kind = stats.kinds[pt] = str(getattr(next(iter(receivers)), RECEIVER_KIND))
        stats.on_rtp(data, kind)

    RTCDtlsTransport._handle_rtp_data = handle  # type: ignore[method-assign]

    def lookup(transport: RTCDtlsTransport) -> LightStats | None:
        found: Any = getattr(transport, LIGHT_ATTRIBUTE, None)
        return found if isinstance(found, LightStats) else None

    return lookup
