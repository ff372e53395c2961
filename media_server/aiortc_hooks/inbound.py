"""The receive side: a publisher's encoded frames go to the SFU, not to a decoder.

A receiver's decoder queue is replaced by a `FrameTap`, its jitter buffers by ones that
release a frame as soon as it is whole (and first hand every packet, after SRTP
unprotect, RTX unwrapping and NACK bookkeeping, to the raw forwarding path), and its
RTX SSRCs are routed to it. Also
keyframe (PLI) and NACK requests toward the publisher, the per-SSRC counters the
quality monitor reads, and the audio level each packet carries (active speaker).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_gt

RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
RECEIVER_SEND_NACK = "_send_rtcp_nack"
RECEIVER_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
RECEIVER_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
TRANSPORT_REGISTER_RECEIVER = "_register_rtp_receiver"
TRANSPORT_ROUTER = "_rtp_router"
ROUTER_SSRC_TABLE = "ssrc_table"
PACKET_DATA = "_data"

FrameSink = Callable[[RTCRtpCodecParameters, JitterFrame], None]
PacketSink = Callable[[RtpPacket], None]


class FrameTap:
    """Takes the place of a receiver's decoder queue.

    aiortc puts each depacketized `(codec, JitterFrame)` here from the event loop
    thread; we hand it to the forwarder instead of a decoder. aiortc still starts
    its decoder thread on this object: `get()` parks that thread until the stream
    ends, so the thread never decodes and exits when aiortc stops the receiver.
    """

    def __init__(self, on_frame: FrameSink, on_end: Callable[[], None]) -> None:
        self._on_frame = on_frame
        self._on_end = on_end
        self._ended = threading.Event()

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:
            if not self._ended.is_set():
                self._ended.set()
                self._on_end()
            return
        if not self._ended.is_set():
            self._on_frame(item[0], item[1])

    def get(self) -> None:
        self._ended.wait()
        return None


class ImmediateAudioBuffer:
    """Releases every Opus packet as it arrives.

    aiortc's audio buffer waits for 4 packets (80 ms) before it releases one; a
    forwarding server has no playout to smooth, the subscriber's browser does it.
    Late or duplicate packets are dropped: the receiving decoder conceals them.
    """

    capacity = 16

    def __init__(self, on_packet: PacketSink | None = None) -> None:
        self._last: int | None = None
        self.on_packet = on_packet

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self.on_packet is not None:
            self.on_packet(packet)
        seq = packet.sequence_number
        if self._last is not None and not uint16_gt(seq, self._last):
            return False, None
        self._last = seq
        return False, JitterFrame(data=getattr(packet, PACKET_DATA), timestamp=packet.timestamp)


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's video buffer, but a frame leaves as soon as its last packet (RTP marker) is in.

    Stock aiortc releases a frame only when the next frame's first packet arrives,
    which adds a frame interval (33 ms at 30 fps) at every hop. And a packet that NACK
    never repairs stalls stock aiortc until 512 packets pile up (seconds of frozen
    video). aiortc NACKs a hole only once (again only when a new hole appears), so
    while a frame waits this buffer asks `renack` every `renack_every` seconds; a frame
    still incomplete after `stall_after` seconds is dropped, the buffer moves to the
    next whole frame, asks for a keyframe (PLI) and calls `on_skip` so the forwarder
    holds delta frames back until that keyframe.
    """

    def __init__(
        self,
        on_skip: Callable[[], None] | None = None,
        renack: Callable[[int], None] | None = None,
        stall_after: float = 1.0,
        renack_every: float = 0.1,
        on_packet: PacketSink | None = None,
    ) -> None:
        super().__init__(capacity=512, is_video=True)
        self.on_packet = on_packet
        self.on_skip = on_skip
        self.renack = renack
        self.stall_after = stall_after
        self.renack_every = renack_every
        self._waiting_since: float | None = None
        self._last_renack = 0.0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self.on_packet is not None:
            self.on_packet(packet)
        pli_flag, frame = super().add(packet)
        if frame is not None:
            self._waiting_since = None
            return pli_flag, frame
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
            return pli_flag, None
        waited = now - self._waiting_since
        if self.renack is not None and waited >= self.renack_every and now - self._last_renack >= self.renack_every:
            self._last_renack = now
            self.renack(packet.ssrc)
        if waited > self.stall_after and self._skip_damaged_frame():
            self._waiting_since = None
            if self.on_skip is not None:
                self.on_skip()
            return True, self._remove_frame(packet.sequence_number)
        return pli_flag, None

    def _skip_damaged_frame(self) -> bool:
        """Drop packets up to the next clean frame start (after a marker); False if none yet."""
        origin = self._origin
        assert origin is not None
        previous = self._packets[origin % self.capacity]
        for count in range(1, self.capacity):
            packet = self._packets[(origin + count) % self.capacity]
            if packet is not None and previous is not None and previous.marker:
                self.remove(count)
                return True
            previous = packet
        return False

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        packets: list[RtpPacket] = []
        timestamp: int | None = None
        origin = self._origin
        assert origin is not None
        for count in range(self.capacity):
            packet = self._packets[(origin + count) % self.capacity]
            if packet is None:
                return None
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                used = count  # the frame ended without a marker: aiortc's rule
                break
            packets.append(packet)
            if packet.marker:
                used = count + 1
                break
        else:
            return None
        self.remove(used)
        assert timestamp is not None
        return JitterFrame(data=b"".join(getattr(p, PACKET_DATA) for p in packets), timestamp=timestamp)


def tap_receiver(
    receiver: RTCRtpReceiver,
    kind: str,
    on_frame: FrameSink,
    on_end: Callable[[], None],
    on_skip: Callable[[], None] | None = None,
    on_packet: PacketSink | None = None,
) -> FrameTap:
    """Route a receiver's encoded frames to `on_frame` (and each packet to `on_packet`);
    call before it starts receiving."""
    tap = FrameTap(on_frame, on_end)
    setattr(receiver, RECEIVER_DECODER_QUEUE, tap)
    tasks: set[asyncio.Future[None]] = set()

    def renack(media_ssrc: int) -> None:
        generator = getattr(receiver, RECEIVER_NACK_GENERATOR, None)
        if generator is not None and generator.missing:
            task = asyncio.ensure_future(getattr(receiver, RECEIVER_SEND_NACK)(media_ssrc, sorted(generator.missing)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    buffer = (
        ImmediateAudioBuffer(on_packet) if kind == "audio" else MarkerJitterBuffer(on_skip, renack, on_packet=on_packet)
    )
    setattr(receiver, RECEIVER_JITTER_BUFFER, buffer)
    return tap


def watch_audio_level(receiver: RTCRtpReceiver, on_level: Callable[[int], None]) -> None:
    """Call `on_level(level)` with each packet's RFC 6464 audio level (0..127 = -dBov).

    aiortc parses the `ssrc-audio-level` header extension (negotiated for every audio
    m-line) into `packet.extensions.audio_level = (vad, level)` but never reads it. The
    transport hands every packet to the receiver's `_handle_rtp_packet`; a plain function
    in its place reads the level and returns the original coroutine for the transport
    to await, so the hot path gains one call and no allocation. The voice-activity bit
    is ignored: aiortc senders always clear it and the level alone decides.
    """
    original = getattr(receiver, RECEIVER_HANDLE_RTP)

    def handle(packet: RtpPacket, arrival_time_ms: int) -> Awaitable[None]:
        level = packet.extensions.audio_level
        if level is not None:
            on_level(level[1])
        return original(packet, arrival_time_ms=arrival_time_ms)

    setattr(receiver, RECEIVER_HANDLE_RTP, handle)


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await getattr(receiver, RECEIVER_SEND_PLI)(media_ssrc)


def inbound_counters(receiver: RTCRtpReceiver, ssrc: int | None) -> tuple[int, int, int] | None:
    """(packets received, packets lost, jitter in clock units) of one SSRC.

    getStats() reports one inbound-rtp per receiver under one id, so with RTX the
    retransmission stream overwrites the media stream's counters; read the media
    SSRC's own statistics instead.
    """
    streams = getattr(receiver, RECEIVER_REMOTE_STREAMS, {})
    stream = streams.get(ssrc) if ssrc is not None else None
    if stream is None:
        return None
    return stream.packets_received, stream.packets_lost, stream.jitter


def fix_rtx_routing(pc: RTCPeerConnection) -> None:
    """Route each receiver's RTX SSRC to it, not only its primary SSRC.

    RTCDtlsTransport registers only primary SSRCs; RTX packets then fall back to
    payload-type routing, which fails as soon as two video m-lines share a BUNDLE
    (camera + screen share, or several forwarded videos): retransmissions are
    dropped. Wrapping the registration of every transport of `pc` fixes it.
    """
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if getattr(transport, "_mentorlive_rtx_fix", False):
            continue
        original = getattr(transport, TRANSPORT_REGISTER_RECEIVER)

        def register(receiver: Any, parameters: Any, _original: Any = original, _t: Any = transport) -> None:
            _original(receiver, parameters)
            table = getattr(getattr(_t, TRANSPORT_ROUTER), ROUTER_SSRC_TABLE)
            for encoding in parameters.encodings:
                if encoding.rtx is not None:
                    table[encoding.rtx.ssrc] = receiver

        setattr(transport, TRANSPORT_REGISTER_RECEIVER, register)
        setattr(transport, "_mentorlive_rtx_fix", True)  # noqa: B010
