"""The send side: a subscriber's sender packetizes forwarded frames and never encodes.

Installs the `PassthroughPacker` as the sender's encoder, points the sender's PLI/FIR
handling at the publication (instead of an unused encoder flag), and retires a sender
whose m-line goes inactive.

For the raw forwarding path (`media_server.raw_egress`): the negotiated send parameters
as the sender starts, its SSRCs, its NACK handling and its sender reports taken over,
its packet/octet counters driven, and a synchronous datagram path through the selected
ICE pair (`DatagramPath`) that counts like the DTLS transport's own `_send_rtp`.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Awaitable, Callable
from typing import Any

import aioice.ice
import av
from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import convert_timebase
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RtcpSrPacket

SENDER_ENCODER = "_RTCRtpSender__encoder"
SENDER_RTP_HISTORY = "_RTCRtpSender__rtp_history"
SENDER_SEND_KEYFRAME = "_send_keyframe"
SENDER_SEND = "send"
SENDER_RETRANSMIT = "_retransmit"
SENDER_SEND_RTCP = "_send_rtcp"
SENDER_SSRC = "_ssrc"
SENDER_RTX_SSRC = "_rtx_ssrc"
SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
SENDER_LSR = "_RTCRtpSender__lsr"
TRANSPORT_TX_SRTP = "_tx_srtp"
TRANSPORT_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
TRANSPORT_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
ICE_CONNECTION = "_connection"
CONNECTION_NOMINATED = "_nominated"
DATAGRAM_PATH = "_mentorlive_datagram_path"


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
    connection; without this its hooks (keyframe, raw path) would keep the departed publisher's
    objects alive and its RTP history would keep up to 128 packets.
    """
    await sender.stop()
    for hook in (SENDER_SEND_KEYFRAME, SENDER_SEND, SENDER_RETRANSMIT, SENDER_SEND_RTCP):
        sender.__dict__.pop(hook, None)
    history = getattr(sender, SENDER_RTP_HISTORY, None)
    if isinstance(history, dict):
        history.clear()
    setattr(sender, SENDER_ENCODER, None)


# -- raw forwarding ------------------------------------------------------------------------
def on_send_parameters(sender: RTCRtpSender, callback: Callable[[RTCRtpSendParameters], None]) -> None:
    """Call `callback` with the negotiated parameters once, when the sender has started
    (aiortc calls send() again on every renegotiation and ignores all but the first)."""
    original = getattr(sender, SENDER_SEND)
    started = False

    async def send(parameters: RTCRtpSendParameters) -> None:
        nonlocal started
        await original(parameters)
        if not started:
            started = True
            callback(parameters)

    setattr(sender, SENDER_SEND, send)


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """(media SSRC, RTX SSRC) the sender announced in SDP."""
    return int(getattr(sender, SENDER_SSRC)), int(getattr(sender, SENDER_RTX_SSRC))


def answer_nacks_with(sender: RTCRtpSender, retransmit: Callable[[int], Awaitable[None]]) -> None:
    """Subscribers' NACKed sequence numbers reach `retransmit` instead of the sender's history."""
    setattr(sender, SENDER_RETRANSMIT, retransmit)


def fill_sender_reports(sender: RTCRtpSender, fill: Callable[[], tuple[int, int] | None]) -> None:
    """The sender's periodic SR carries what `fill()` returns: (NTP 64-bit, RTP timestamp).

    aiortc builds the SR from counters its own send loop keeps; the raw path bypasses
    that loop, so the counters are driven per packet (`SenderCounters`) and the time
    mapping is set here, just before the SR leaves, together with the LSR aiortc matches
    receiver reports against for the round-trip time.
    """
    original = getattr(sender, SENDER_SEND_RTCP)
    state = sender.__dict__

    async def send_rtcp(packets: list[Any]) -> None:
        report = packets[0] if packets else None
        if isinstance(report, RtcpSrPacket):
            mapping = fill()
            if mapping is not None:
                ntp, rtp_timestamp = mapping
                info = report.sender_info
                info.ntp_timestamp = ntp
                info.rtp_timestamp = rtp_timestamp
                info.packet_count = state[SENDER_PACKET_COUNT] & 0xFFFFFFFF
                info.octet_count = state[SENDER_OCTET_COUNT] & 0xFFFFFFFF
                state[SENDER_NTP_TIMESTAMP] = ntp
                state[SENDER_RTP_TIMESTAMP] = rtp_timestamp
                state[SENDER_LSR] = (ntp >> 16) & 0xFFFFFFFF
        await original(packets)

    setattr(sender, SENDER_SEND_RTCP, send_rtcp)


class SenderCounters:
    """The sender's packet and octet counters (read by getStats() and its SRs), driven per packet."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self._state = sender.__dict__

    def count(self, payload_bytes: int) -> None:
        state = self._state
        state[SENDER_PACKET_COUNT] += 1
        state[SENDER_OCTET_COUNT] += payload_bytes


def srtp_session(transport: RTCDtlsTransport) -> Any:
    """The transport's outbound SRTP session once DTLS is up, else None."""
    if transport.state != "connected":
        return None
    return getattr(transport, TRANSPORT_TX_SRTP, None)


class DatagramPath:
    """Sends protected packets straight to the selected ICE pair's socket, synchronously.

    One per DTLS transport (shared by every raw subscription on a BUNDLE). It does what
    `RTCDtlsTransport._send_rtp` does after protecting, without the two coroutines per
    packet, and counts into the same transport statistics. `drop` is a test aid (loss
    injection); None in production.
    """

    def __init__(self, transport: RTCDtlsTransport) -> None:
        connection = getattr(transport.transport, ICE_CONNECTION)
        self._nominated: dict[int, Any] = getattr(connection, CONNECTION_NOMINATED)
        self._counters = transport.__dict__
        self.drop: Callable[[bytes], bool] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def send(self, data: bytes) -> int:
        """Send one datagram; returns how many bytes wait in user space for the socket."""
        pair = self._nominated.get(1)
        if pair is None:
            return 0
        counters = self._counters
        counters[TRANSPORT_TX_PACKETS] += 1
        counters[TRANSPORT_TX_BYTES] += len(data)
        if self.drop is not None and self.drop(data):
            return 0
        protocol = pair.protocol
        if type(protocol) is aioice.ice.StunProtocol:
            socket: Any = protocol.transport
            if socket.is_closing():
                return 0
            socket.sendto(data, pair.remote_addr)
            return int(socket.get_write_buffer_size())
        else:  # a relayed (TURN) pair wraps data in its own coroutine
            task = asyncio.ensure_future(protocol.send_data(data, pair.remote_addr))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return 0


def datagram_path(transport: RTCDtlsTransport) -> DatagramPath:
    path = getattr(transport, DATAGRAM_PATH, None)
    if path is None:
        path = DatagramPath(transport)
        setattr(transport, DATAGRAM_PATH, path)
    return path
