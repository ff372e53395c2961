"""The send side: a subscriber's sender packetizes forwarded frames and never encodes.

Installs the `PassthroughPacker` as the sender's encoder, points the sender's PLI/FIR
handling at the publication (instead of an unused encoder flag), and retires a sender
whose m-line goes inactive.
"""

from __future__ import annotations

import fractions
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import convert_timebase

SENDER_ENCODER = "_RTCRtpSender__encoder"
SENDER_RTP_HISTORY = "_RTCRtpSender__rtp_history"
SENDER_SEND_KEYFRAME = "_send_keyframe"


class PassthroughPacker(Encoder):
    """The sender's 'encoder' for forwarded media: packetizes, never encodes.

    Stock aiortc creates a real encoder per sender (an Opus context for audio even
    when only pack() is used); installing this one first avoids that and makes an
    accidental encode an error instead of a silent CPU cost.
    """

    def __init__(self, mime_type: str) -> None:
        self.mime_type = mime_type.lower()
        self._inner: Encoder | None = None
        if self.mime_type == "video/vp8":
            self._inner = Vp8Encoder()
        elif self.mime_type == "video/h264":
            self._inner = H264Encoder()

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise RuntimeError("the SFU forwards encoded media and never encodes")

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        if self._inner is not None:
            return self._inner.pack(packet)
        # Opus (and other audio): one frame is one RTP payload.
        return [bytes(packet)], convert_timebase(
            packet.pts or 0, packet.time_base or fractions.Fraction(1, 48000), fractions.Fraction(1, 48000)
        )


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Subscribers' PLI/FIR reach `callback` instead of the (unused) encoder flag."""
    setattr(sender, SENDER_SEND_KEYFRAME, callback)


def install_packer(sender: RTCRtpSender, mime_type: str) -> None:
    setattr(sender, SENDER_ENCODER, PassthroughPacker(mime_type))


async def retire_sender(sender: RTCRtpSender) -> None:
    """Stop a sender whose m-line goes inactive and drop what it holds.

    aiortc never recycles m-lines, so a stopped sender lives as long as its peer
    connection; without this its keyframe hook would keep the departed publisher's
    objects alive and its RTP history would keep up to 128 packets.
    """
    await sender.stop()
    sender.__dict__.pop(SENDER_SEND_KEYFRAME, None)
    history = getattr(sender, SENDER_RTP_HISTORY, None)
    if isinstance(history, dict):
        history.clear()
    setattr(sender, SENDER_ENCODER, None)
