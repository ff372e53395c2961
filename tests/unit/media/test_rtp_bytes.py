"""RTP header templates and keyframe starts for the raw path, against aiortc's own parser."""

from __future__ import annotations

import time

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media_server.rtp_bytes import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    NTP_EPOCH_OFFSET,
    SendClock,
    header_template,
    starts_keyframe,
)

KEY_FRAME = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01])
DELTA_FRAME = bytes([0x31, 0x00, 0x00, 0x00, 0x00, 0x00])


def test_template_parses_as_the_subscriber_negotiated_it() -> None:
    ids = {MID_URI: 4, ABS_SEND_TIME_URI: 7, AUDIO_LEVEL_URI: 9}
    template = header_template(111, 0xDEADBEEF, "3", ids)
    header = bytearray(template.data)
    header[1] = 111 | 0x80
    header[2:4] = (65535).to_bytes(2, "big")
    header[4:8] = (123456).to_bytes(4, "big")
    header[template.abs_send_time_at : template.abs_send_time_at + 3] = b"\x01\x02\x03"
    header[template.audio_level_at] = 0x80 | 42
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for u, i in ids.items()])
    )
    packet = RtpPacket.parse(bytes(header) + b"payload", extensions)
    assert (packet.payload_type, packet.marker, packet.sequence_number, packet.timestamp, packet.ssrc) == (
        111,
        1,
        65535,
        123456,
        0xDEADBEEF,
    )
    assert packet.extensions.mid == "3"
    assert packet.extensions.abs_send_time == 0x010203
    assert packet.extensions.audio_level == (True, 42)
    assert packet.payload == b"payload"


def test_template_without_extensions_is_a_plain_header() -> None:
    template = header_template(96, 1, None, {})
    assert template.length == 12 and template.abs_send_time_at == 0 and template.audio_level_at == 0
    assert RtpPacket.parse(template.data + b"x").payload == b"x"


def test_keyframe_starts() -> None:
    assert starts_keyframe("VP8", bytes([0x10]) + KEY_FRAME)
    # With the X byte, a two-byte picture id, TL0PICIDX and TID.
    assert starts_keyframe("VP8", bytes([0x90, 0xE0, 0x80, 0x05, 0x01, 0x00]) + KEY_FRAME)
    assert not starts_keyframe("VP8", bytes([0x10]) + DELTA_FRAME)
    assert not starts_keyframe("VP8", bytes([0x00]) + KEY_FRAME), "not the start of a partition"
    assert starts_keyframe("H264", bytes([0x67, 0x42]))
    stap = bytes([0x18]) + (2).to_bytes(2, "big") + bytes([0x67, 0x42]) + (2).to_bytes(2, "big") + bytes([0x68, 1])
    assert starts_keyframe("H264", stap)
    assert not starts_keyframe("H264", bytes([0x7C, 0x85]))  # an IDR fragment without its SPS
    assert starts_keyframe("opus", b"\x01")


def test_send_clock_matches_ntp_time() -> None:
    clock = SendClock()
    mono = time.monotonic()
    ntp = clock.ntp64(mono) / 2**32
    assert abs(ntp - (time.time() + NTP_EPOCH_OFFSET)) < 0.05
    abs_time = int.from_bytes(clock.abs_send_time(mono), "big")
    assert abs_time == (int(ntp * 2**18) & 0xFFFFFF) or abs(abs_time - (int(ntp * 2**18) & 0xFFFFFF)) <= 1
