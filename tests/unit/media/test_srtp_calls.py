"""The raw path's SRTP protect and unprotect: the same bytes and the same refusals as pylibsrtp's own."""

from __future__ import annotations

import struct

import pylibsrtp
import pytest

from media_server.aiortc_hooks.srtp import SrtpProtector, SrtpUnprotector

KEY = bytes(range(30))  # 16-byte master key + 14-byte salt (AES_CM_128_HMAC_SHA1_80)


def session(direction: int) -> pylibsrtp.Session:
    profile = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    policy = pylibsrtp.Policy(key=KEY, ssrc_type=direction, srtp_profile=profile)
    policy.allow_repeat_tx = False
    policy.window_size = 1024
    return pylibsrtp.Session(policy)


def rtp(seq: int, payload: bytes = b"\x90" * 1000) -> bytes:
    return struct.pack(">BBHII", 0x80, 96, seq, seq * 3000, 0x1234) + payload


def test_protected_packets_equal_pylibsrtps_and_unprotect_to_the_original() -> None:
    ours = SrtpProtector(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    theirs = session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    receiver = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    for seq in (1, 2, 3, 7, 5):  # 5 late but within the window
        protected = ours.protect(rtp(seq))
        assert protected == theirs.protect(rtp(seq))
        assert len(protected) == len(rtp(seq)) + 10  # the 80-bit tag
        assert receiver.unprotect(protected) == rtp(seq)


def test_a_repeat_and_an_oversized_packet_are_refused_as_pylibsrtp_refuses_them() -> None:
    ours = SrtpProtector(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    ours.protect(rtp(10))
    with pytest.raises(pylibsrtp.Error, match="replay"):
        ours.protect(rtp(10))
    with pytest.raises(ValueError, match="too long"):
        ours.protect(rtp(11, b"\x00" * 1400))
    assert ours.protect(rtp(12))  # the session carries on after both


def test_unprotect_gives_what_pylibsrtp_gives_and_refuses_a_tampered_packet() -> None:
    sender = session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    ours = SrtpUnprotector(session(pylibsrtp.Policy.SSRC_ANY_INBOUND))
    theirs = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    for seq in (1, 2, 4, 3):
        protected = sender.protect(rtp(seq))
        assert ours.unprotect(protected) == theirs.unprotect(protected) == rtp(seq)
    tampered = bytearray(sender.protect(rtp(5)))
    tampered[20] ^= 1
    with pytest.raises(pylibsrtp.Error, match="auth"):
        ours.unprotect(bytes(tampered))
    with pytest.raises(pylibsrtp.Error, match="replay"):
        ours.unprotect(protected)  # seq 3 again
    rtcp = struct.pack(">BBHI", 0x80, 201, 1, 0x1234)  # an empty receiver report
    assert ours.unprotect_rtcp(sender.protect_rtcp(rtcp)) == rtcp
