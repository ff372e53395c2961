"""RTP on bytes for the raw forwarding path: header templates, keyframe starts, send-time clock.

Pure functions and one small clock object; no aiortc objects. The raw path builds each
outgoing packet as a copy of a per-subscription header template with sequence number,
timestamp and a few extension bytes written in place, followed by the publisher's
payload unchanged (`raw_egress`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
# Seconds between the NTP epoch (1900) and the Unix epoch (1970).
NTP_EPOCH_OFFSET = 2208988800
SILENT_LEVEL_BYTE = 127


@dataclass(frozen=True)
class HeaderTemplate:
    """A fixed RTP header (12 bytes) plus a one-byte-form extension block (RFC 8285).

    `data` has the payload type and SSRC set and zeros where the marker, sequence number,
    timestamp, abs-send-time (`abs_send_time_at`, 3 bytes) and audio level (`audio_level_at`,
    1 byte) go; an offset of 0 means the subscriber did not negotiate that extension.
    """

    data: bytes
    payload_type: int
    abs_send_time_at: int
    audio_level_at: int

    @property
    def length(self) -> int:
        return len(self.data)


def header_template(payload_type: int, ssrc: int, mid: str | None, extension_ids: Mapping[str, int]) -> HeaderTemplate:
    """The header every forwarded packet of one subscription starts with.

    Only extensions the subscriber negotiated are written, with the subscriber's ids:
    mid (its own m-line), abs-send-time (rewritten per packet) and the audio level
    (copied from the publisher's packet).
    """
    entries = bytearray()
    abs_at = level_at = 0
    mid_id = extension_ids.get(MID_URI)
    if mid_id and mid:
        value = mid.encode()[:16]
        entries += bytes([(mid_id << 4) | (len(value) - 1)]) + value
    abs_id = extension_ids.get(ABS_SEND_TIME_URI)
    if abs_id:
        entries += bytes([(abs_id << 4) | 2])
        abs_at = 12 + 4 + len(entries)
        entries += b"\x00\x00\x00"
    level_id = extension_ids.get(AUDIO_LEVEL_URI)
    if level_id:
        entries += bytes([level_id << 4])
        level_at = 12 + 4 + len(entries)
        entries += bytes([SILENT_LEVEL_BYTE])
    while len(entries) % 4:
        entries += b"\x00"
    first = 0x90 if entries else 0x80  # version 2, extension bit when there is a block
    data = bytearray([first, payload_type & 0x7F, 0, 0, 0, 0, 0, 0])
    data += (ssrc & 0xFFFFFFFF).to_bytes(4, "big")
    if entries:
        data += b"\xbe\xde" + (len(entries) // 4).to_bytes(2, "big") + entries
    return HeaderTemplate(bytes(data), payload_type & 0x7F, abs_at, level_at)


def starts_keyframe(codec_name: str, payload: bytes) -> bool:
    """True when this RTP payload is the first packet of a keyframe (a subscriber may start here)."""
    if not payload:
        return False
    if codec_name == "VP8":
        return _vp8_starts_keyframe(payload)
    if codec_name == "H264":
        return _h264_starts_keyframe(payload)
    return True  # audio: every packet stands alone


def _vp8_starts_keyframe(p: bytes) -> bool:
    # RFC 7741 4.2: payload descriptor; the frame tag follows it in the first partition's start.
    first = p[0]
    if not first & 0x10 or first & 0x07:  # S bit (start of partition) and partition index 0
        return False
    i = 1
    if first & 0x80:  # X: extension byte follows
        if len(p) < 2:
            return False
        ext = p[1]
        i = 2
        if ext & 0x80:  # I: picture id, one or two bytes (M bit)
            if len(p) <= i:
                return False
            i += 2 if p[i] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            i += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX byte
            i += 1
    # RFC 6386 9.1: bit 0 of the frame tag is 0 on a keyframe, which carries the start code.
    return len(p) >= i + 6 and p[i] & 1 == 0 and p[i + 3 : i + 6] == b"\x9d\x01\x2a"


def _h264_starts_keyframe(p: bytes) -> bool:
    # A decoder can start at a sequence parameter set (sent right before an IDR), alone or
    # aggregated in a STAP-A (RFC 6184 5.7.1).
    nal = p[0] & 0x1F
    if nal == 7:
        return True
    if nal == 24:
        i = 1
        while i + 2 < len(p):
            size = int.from_bytes(p[i : i + 2], "big")
            if p[i + 2] & 0x1F == 7:
                return True
            i += 2 + size
    return False


class SendClock:
    """abs-send-time and NTP times from the monotonic clock (no `datetime` per packet).

    The wall-clock offset is read once; a wall-clock step later does not move send times
    backwards, which is what receivers' bandwidth estimators need.
    """

    def __init__(self) -> None:
        self._offset = time.time() + NTP_EPOCH_OFFSET - time.monotonic()

    def ntp_seconds(self, monotonic: float) -> float:
        return monotonic + self._offset

    def ntp64(self, monotonic: float) -> int:
        """A 64-bit NTP timestamp (RFC 3550 SR) for a monotonic time."""
        return int((monotonic + self._offset) * 4294967296.0) & 0xFFFFFFFFFFFFFFFF

    def abs_send_time(self, monotonic: float) -> bytes:
        """The 3 bytes of abs-send-time (6.18 fixed-point seconds of NTP time)."""
        return (int((monotonic + self._offset) * 262144.0) & 0xFFFFFF).to_bytes(3, "big")
