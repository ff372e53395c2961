"""Reusing an inactive receiving m-line for a new publication of the same kind.

aiortc never recycles m-lines: every publish would add a transceiver that stays in every
later offer, so publish/unpublish cycles grow the SDP and the memory without end. An
unpublished source's transceiver is kept (inactive) and handed to the next publication of
its kind. Its receiver cannot be reused (RTCRtpReceiver.stop is irreversible and `receive`
starts it only once), so the transceiver gets a fresh receiver on the same transport; the
old one, stopped, has already unregistered itself from the transport's router.
"""

from __future__ import annotations

from aiortc import RTCRtpReceiver, RTCRtpTransceiver

# aiortc 1.x keeps the transceiver's receiver in a private (name-mangled) attribute.
TRANSCEIVER_RECEIVER = "_RTCRtpTransceiver__receiver"


def fresh_receiver(transceiver: RTCRtpTransceiver) -> RTCRtpTransceiver:
    old = transceiver.receiver
    receiver = RTCRtpReceiver(transceiver.kind, old.transport)
    receiver._set_rtcp_ssrc(transceiver.sender._ssrc)
    setattr(transceiver, TRANSCEIVER_RECEIVER, receiver)
    transceiver.direction = "recvonly"
    return transceiver
