"""Packet loss on demand: drop chosen outgoing SRTP packets of a peer connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection

from media_server.aiortc_hooks.ice import ICE_RECV, ICE_SEND
from media_server.aiortc_hooks.outbound import datagram_path


def drop_outgoing_rtp(pc: RTCPeerConnection, should_drop: Callable[[bytes], bool]) -> None:
    """Test and benchmark aid: lose outgoing SRTP packets chosen by `should_drop`
    (both aiortc's own sends and the raw forwarding path's, which sends sender reports too)."""

    def drop_rtp(data: bytes) -> bool:
        # SRTP (not SRTCP, not DTLS/STUN): RTP version bits and a non-RTCP type.
        return 127 < data[0] < 192 and not 192 <= data[1] <= 223 and should_drop(data)

    for transceiver in pc.getTransceivers():
        datagram_path(transceiver.sender.transport).drop = drop_rtp
        ice = transceiver.sender.transport.transport
        if getattr(ice, "_mentorlive_loss", False):
            continue
        original = getattr(ice, ICE_SEND)

        async def send(data: bytes, _o: Any = original) -> None:
            if drop_rtp(data):
                return
            await _o(data)

        setattr(ice, ICE_SEND, send)
        setattr(ice, "_mentorlive_loss", True)  # noqa: B010


def drop_incoming_rtp(pc: RTCPeerConnection, should_drop: Callable[[bytes], bool]) -> None:
    """Test aid: lose arriving SRTP packets chosen by `should_drop` (a lossy downlink).

    Wraps the ICE transport's receive, which aiortc binds when ICE starts: call it once the
    connection is up.
    """
    for transceiver in pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        if getattr(ice, "_mentorlive_downlink_loss", False):
            continue
        original = getattr(ice, ICE_RECV)

        async def recv(_o: Any = original) -> bytes:
            while True:
                data: bytes = await _o()
                if 127 < data[0] < 192 and not 192 <= data[1] <= 223 and should_drop(data):
                    continue
                return data

        setattr(ice, ICE_RECV, recv)
        setattr(ice, "_mentorlive_downlink_loss", True)  # noqa: B010
