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
import random
import time
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
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket, RtcpSrPacket

SENDER_ENCODER = "_RTCRtpSender__encoder"
SENDER_RTP_HISTORY = "_RTCRtpSender__rtp_history"
SENDER_SEND_KEYFRAME = "_send_keyframe"
SENDER_SEND = "send"
SENDER_RETRANSMIT = "_retransmit"
SENDER_SEND_RTCP = "_send_rtcp"
SENDER_GET_STATS = "getStats"
SENDER_HANDLE_RTCP = "_handle_rtcp_packet"
SENDER_SSRC = "_ssrc"
SENDER_RTX_SSRC = "_rtx_ssrc"
SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
SENDER_LSR = "_RTCRtpSender__lsr"
SENDER_LSR_TIME = "_RTCRtpSender__lsr_time"
TRANSPORT_TX_SRTP = "_tx_srtp"
TRANSPORT_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
TRANSPORT_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
ICE_CONNECTION = "_connection"
CONNECTION_NOMINATED = "_nominated"
DATAGRAM_PATH = "_mentorlive_datagram_path"
# libwebrtc's RTCP report intervals (RTCPSender: 1 s for video, 5 s for audio), each drawn from
# [0.5, 1.5] times that. aiortc sends every sender's report every 0.5-1.5 s; audio needs no more
# than a browser sends, and with a report per subscriber stream that is half the SFU's RTCP.
AUDIO_REPORT_INTERVAL = 5.0
# The outbound SRTP replay window aiortc sets (RTCDtlsTransport._setup_srtp): libsrtp refuses to
# protect a packet whose index is further behind the newest than this.
SRTP_TX_WINDOW = 1024


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
    for hook in (
        SENDER_SEND_KEYFRAME,
        SENDER_SEND,
        SENDER_RETRANSMIT,
        SENDER_SEND_RTCP,
        SENDER_HANDLE_RTCP,
        SENDER_GET_STATS,
    ):
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


def fill_sender_reports(
    sender: RTCRtpSender,
    fill: Callable[[], tuple[int, int] | None],
    send_now: Callable[[bytes], bool] | None = None,
) -> None:
    """The sender's periodic SR carries what `fill()` returns: (NTP 64-bit, RTP timestamp).

    aiortc builds the SR from counters its own send loop keeps; the raw path bypasses
    that loop, so the counters come from `SenderCounters` (which `fill()` brings up to
    date) and the time mapping is set here, just before the SR leaves, together with the LSR aiortc matches
    receiver reports against for the round-trip time.

    An audio sender's reports leave at about libwebrtc's audio pace (`AUDIO_REPORT_INTERVAL`):
    the first at aiortc's first wake-up (lip sync needs one per stream), each next one at the
    first wake-up past a deadline drawn after the last. For a skipped wake-up the LSR and its
    send time aiortc just set are put back to the last report's, so the subscriber's receiver
    reports still give the round trip.

    `send_now(compound)` (when given, and while it returns True) sends the report at once, as
    the raw path sends its packets, instead of through aiortc's chain of coroutines down to
    the socket: with a report per subscriber stream that chain cost more than the reports.
    """
    original = getattr(sender, SENDER_SEND_RTCP)
    state = sender.__dict__
    audio = sender.kind == "audio"
    next_report_at = 0.0
    sent_lsr: tuple[Any, Any] = (None, None)

    async def send_rtcp(packets: list[Any]) -> None:
        nonlocal next_report_at, sent_lsr
        report = packets[0] if packets else None
        if isinstance(report, RtcpSrPacket):
            now = time.monotonic()
            if audio and now < next_report_at:
                state[SENDER_LSR], state[SENDER_LSR_TIME] = sent_lsr
                return
            mapping = fill()
            if mapping is not None:
                if audio:  # the pace starts with the first report that says something
                    next_report_at = now + AUDIO_REPORT_INTERVAL * (0.5 + random.random())
                ntp, rtp_timestamp = mapping
                info = report.sender_info
                info.ntp_timestamp = ntp
                info.rtp_timestamp = rtp_timestamp
                info.packet_count = state[SENDER_PACKET_COUNT] & 0xFFFFFFFF
                info.octet_count = state[SENDER_OCTET_COUNT] & 0xFFFFFFFF
                state[SENDER_NTP_TIMESTAMP] = ntp
                state[SENDER_RTP_TIMESTAMP] = rtp_timestamp
                state[SENDER_LSR] = (ntp >> 16) & 0xFFFFFFFF
            sent_lsr = (state[SENDER_LSR], state[SENDER_LSR_TIME])
            if send_now is not None and send_now(b"".join(bytes(packet) for packet in packets)):
                return
        await original(packets)

    setattr(sender, SENDER_SEND_RTCP, send_rtcp)


def on_receiver_reports(sender: RTCRtpSender, callback: Callable[[RtcpReceiverInfo], None]) -> None:
    """Each report block a subscriber sends about this sender's stream reaches `callback`
    first; aiortc's own handling (round trip, remote-inbound-rtp, NACK, PLI) follows."""
    original = getattr(sender, SENDER_HANDLE_RTCP)
    ssrc = int(getattr(sender, SENDER_SSRC))

    async def handle_rtcp(packet: Any) -> None:
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == ssrc:
                    callback(report)
        await original(packet)

    setattr(sender, SENDER_HANDLE_RTCP, handle_rtcp)


class SenderCounters:
    """The sender's packet and octet counters (read by getStats() and its SRs), driven from the
    raw path's own totals: pushed into the sender when something reads them (its getStats(),
    and `sync()` before each SR), not on every packet."""

    def __init__(self, sender: RTCRtpSender, totals: Callable[[], tuple[int, int]]) -> None:
        self._state = sender.__dict__
        self._totals = totals
        self._synced = totals()
        original = sender.getStats

        async def get_stats() -> Any:
            self.sync()
            return await original()

        setattr(sender, SENDER_GET_STATS, get_stats)

    def sync(self) -> None:
        packets, octets = self._totals()
        state = self._state
        state[SENDER_PACKET_COUNT] += packets - self._synced[0]
        state[SENDER_OCTET_COUNT] += octets - self._synced[1]
        self._synced = (packets, octets)

    def detach(self) -> None:
        """The raw path moves to another sender: this one keeps what was sent through it."""
        self.sync()
        final = self._synced
        self._totals = lambda: final


def srtp_session(transport: RTCDtlsTransport) -> Any:
    """The transport's outbound SRTP session once DTLS is up, else None."""
    if transport.state != "connected":
        return None
    return getattr(transport, TRANSPORT_TX_SRTP, None)


# RTCIceTransport's datagram send (aiortc_hooks.ice.ICE_SEND; checks.py verifies it exists).
ICE_TRANSPORT_SEND = "_send"
# User-space bytes one subscriber's socket may hold waiting for the kernel (see DatagramPath.send).
MAX_BUFFERED = 1024 * 1024
# The same bound for a relayed (TURN) pair, counted in sends not yet done (about 1 MB of RTP).
MAX_PENDING_RELAYED = 1024


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
        self.dropped = 0  # datagrams not sent because the socket's backlog was full
        self._pending: set[asyncio.Task[None]] = set()
        self._pair: Any = None
        self._socket: Any = None
        self._address: Any = None
        self._bound_aiortc_sends(transport)

    def _bound_aiortc_sends(self, transport: RTCDtlsTransport) -> None:
        """aiortc's own sends on this transport (the frame path's RTP, RTCP, DTLS) get the same
        bound: its ICE transport's datagram send drops past `MAX_BUFFERED` waiting."""
        ice = transport.transport
        original = getattr(ice, ICE_TRANSPORT_SEND)

        async def send(data: bytes) -> None:
            if self.backlog() > MAX_BUFFERED:
                self.dropped += 1
                return
            await original(data)

        setattr(ice, ICE_TRANSPORT_SEND, send)

    def send(self, data: bytes) -> int:
        """Send one datagram; returns how many bytes wait in user space for the socket.

        Past `MAX_BUFFERED` bytes waiting, the datagram is dropped instead, as a router drops
        what its queue cannot hold: a subscriber whose link cannot drain (the kernel refuses
        more with EAGAIN, and asyncio keeps the rest) holds at most that much of our memory.
        The raw path restarts its video at a keyframe long before (`raw_egress.MAX_SOCKET_BACKLOG`);
        this bounds what still flows (audio, retransmissions)."""
        pair = self._nominated.get(1)
        if pair is None:  # none chosen yet, or ICE closed (aioice empties the table)
            return 0
        if pair is not self._pair:
            self._route(pair)
        counters = self._counters
        counters[TRANSPORT_TX_PACKETS] += 1
        counters[TRANSPORT_TX_BYTES] += len(data)
        if self.drop is not None and self.drop(data):
            return 0
        socket = self._socket
        if socket is not None:
            if socket.is_closing():
                return 0
            waiting: int = socket.get_write_buffer_size()
            if waiting > MAX_BUFFERED:
                self.dropped += 1
                return waiting
            socket.sendto(data, self._address)
            return waiting
        else:  # a relayed (TURN) pair wraps data in its own coroutine
            if len(self._pending) >= MAX_PENDING_RELAYED:
                self.dropped += 1
                return MAX_BUFFERED
            task = asyncio.ensure_future(pair.protocol.send_data(data, self._address))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return 0

    def _route(self, pair: Any) -> None:
        """The selected pair changed (or was first chosen): its socket (None when relayed) and
        its remote address, kept until it changes again (aioice computes the address per call)."""
        self._pair = pair
        self._address = pair.remote_addr
        self._socket = pair.protocol.transport if type(pair.protocol) is aioice.ice.StunProtocol else None

    def backlog(self) -> int:
        """Bytes waiting in user space for the selected pair's socket now (0 with none, or relayed)."""
        pair = self._nominated.get(1)
        if pair is None or type(pair.protocol) is not aioice.ice.StunProtocol:
            return 0
        socket: Any = pair.protocol.transport
        return int(socket.get_write_buffer_size())


def datagram_path(transport: RTCDtlsTransport) -> DatagramPath:
    path = getattr(transport, DATAGRAM_PATH, None)
    if path is None:
        path = DatagramPath(transport)
        setattr(transport, DATAGRAM_PATH, path)
    return path


def bound_sends(transport: RTCDtlsTransport) -> None:
    """Give `transport` its DatagramPath, whose backlog bound covers aiortc's own sends too."""
    datagram_path(transport)
