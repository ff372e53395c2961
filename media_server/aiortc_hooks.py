"""Every private aiortc/aioice name the SFU relies on, and nothing else.

aiortc==1.16.0 is pinned exactly because of this module. `check_hooks()` is run at
node start and by a unit test so an upgrade that renames any of these fails loudly
instead of silently decoding (or dropping) media.
"""

from __future__ import annotations

import asyncio
import fractions
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import convert_timebase
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_gt

RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
RECEIVER_SEND_NACK = "_send_rtcp_nack"
RECEIVER_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
SENDER_ENCODER = "_RTCRtpSender__encoder"
SENDER_RTP_HISTORY = "_RTCRtpSender__rtp_history"
SENDER_SEND_KEYFRAME = "_send_keyframe"
TRANSPORT_REGISTER_RECEIVER = "_register_rtp_receiver"
TRANSPORT_ROUTER = "_rtp_router"
ROUTER_SSRC_TABLE = "ssrc_table"
GATHERER_CONNECTION = "_connection"
ICE_GATHER_FUNCTION = "get_component_candidates"
PACKET_DATA = "_data"
RECEIVER_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
ICE_SEND = "_send"

FrameSink = Callable[[RTCRtpCodecParameters, JitterFrame], None]


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

    def __init__(self) -> None:
        self._last: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
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
    ) -> None:
        super().__init__(capacity=512, is_video=True)
        self.on_skip = on_skip
        self.renack = renack
        self.stall_after = stall_after
        self.renack_every = renack_every
        self._waiting_since: float | None = None
        self._last_renack = 0.0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
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


def tap_receiver(
    receiver: RTCRtpReceiver,
    kind: str,
    on_frame: FrameSink,
    on_end: Callable[[], None],
    on_skip: Callable[[], None] | None = None,
) -> FrameTap:
    """Route a receiver's encoded frames to `on_frame`; call before it starts receiving."""
    tap = FrameTap(on_frame, on_end)
    setattr(receiver, RECEIVER_DECODER_QUEUE, tap)
    tasks: set[asyncio.Future[None]] = set()

    def renack(media_ssrc: int) -> None:
        generator = getattr(receiver, RECEIVER_NACK_GENERATOR, None)
        if generator is not None and generator.missing:
            task = asyncio.ensure_future(getattr(receiver, RECEIVER_SEND_NACK)(media_ssrc, sorted(generator.missing)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    buffer = ImmediateAudioBuffer() if kind == "audio" else MarkerJitterBuffer(on_skip, renack)
    setattr(receiver, RECEIVER_JITTER_BUFFER, buffer)
    return tap


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await getattr(receiver, RECEIVER_SEND_PLI)(media_ssrc)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Subscribers' PLI/FIR reach `callback` instead of the (unused) encoder flag."""
    setattr(sender, SENDER_SEND_KEYFRAME, callback)


def install_packer(sender: RTCRtpSender, mime_type: str) -> None:
    setattr(sender, SENDER_ENCODER, PassthroughPacker(mime_type))


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


def use_ice_hosts(pc: RTCPeerConnection, hosts: Sequence[str]) -> None:
    """Gather host candidates on exactly `hosts` (aioice never offers 127.0.0.1).

    Call before each setLocalDescription; gatherers created since are patched too.
    """
    if not hosts:
        return
    wanted = list(hosts)
    gatherers = [t.receiver.transport.transport.iceGatherer for t in pc.getTransceivers()]
    if pc.sctp is not None:
        gatherers.append(pc.sctp.transport.transport.iceGatherer)
    for gatherer in gatherers:
        connection = getattr(gatherer, GATHERER_CONNECTION)
        if getattr(connection, "_mentorlive_hosts", None) is not None:
            continue
        original = getattr(connection, ICE_GATHER_FUNCTION)

        async def gather(component: int, addresses: list[str], timeout: int = 5, _o: Any = original) -> Any:  # noqa: ASYNC109
            return await _o(component=component, addresses=wanted, timeout=timeout)

        setattr(connection, ICE_GATHER_FUNCTION, gather)
        setattr(connection, "_mentorlive_hosts", wanted)  # noqa: B010


def check_hooks() -> list[str]:
    """Names this module needs that the installed aiortc/aioice lack (empty when fine)."""
    import aioice.ice
    import aiortc.rtcrtpreceiver as receiver_module
    import aiortc.rtcrtpsender as sender_module

    missing: list[str] = []
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("audio", "recvonly")
        receiver, sender = transceiver.receiver, transceiver.sender
        for obj, name in (
            (receiver, RECEIVER_DECODER_QUEUE),
            (receiver, RECEIVER_JITTER_BUFFER),
            (receiver, RECEIVER_SEND_PLI),
            (receiver, RECEIVER_SEND_NACK),
            (receiver, RECEIVER_NACK_GENERATOR),
            (sender, SENDER_ENCODER),
            (sender, SENDER_RTP_HISTORY),
            (sender, SENDER_SEND_KEYFRAME),
            (receiver.transport, TRANSPORT_REGISTER_RECEIVER),
            (receiver.transport, TRANSPORT_ROUTER),
            (getattr(receiver.transport, TRANSPORT_ROUTER, None), ROUTER_SSRC_TABLE),
            (receiver.transport.transport.iceGatherer, GATHERER_CONNECTION),
            (receiver, RECEIVER_REMOTE_STREAMS),
        ):
            if obj is None or not hasattr(obj, name):
                missing.append(f"{type(obj).__name__}.{name}")
        if "self._send = " not in inspect.getsource(type(receiver.transport.transport)):
            missing.append(f"RTCIceTransport.{ICE_SEND}")
        if not hasattr(aioice.ice.Connection, ICE_GATHER_FUNCTION):
            missing.append(f"aioice.Connection.{ICE_GATHER_FUNCTION}")
    finally:
        # Nothing was negotiated, so there is nothing to close on the network.
        pass
    # Behaviour the hooks assume, read from the source that implements it.
    import aiortc.jitterbuffer as jitter_module

    buffer_source = inspect.getsource(jitter_module.JitterBuffer)
    checks = {
        "jitter buffer add() asks _remove_frame(seq) for a frame": (
            "return pli_flag, self._remove_frame(packet.sequence_number)" in buffer_source
        ),
        "jitter buffer keeps _origin, _packets, remove()": all(
            name in buffer_source for name in ("self._origin", "self._packets", "def remove(")
        ),
        "decoder_worker reads input_q.get()": "input_q.get()" in inspect.getsource(receiver_module.decoder_worker),
        "receiver puts (codec, frame) on its decoder queue": "__decoder_queue.put((codec, encoded_frame))"
        in inspect.getsource(receiver_module.RTCRtpReceiver._handle_rtp_packet),
        "receiver sets packet._data before the jitter buffer": "packet._data = depayload"
        in inspect.getsource(receiver_module.RTCRtpReceiver._handle_rtp_packet),
        "sender packs av.Packet instead of encoding": "self.__encoder.pack(data)"
        in inspect.getsource(sender_module.RTCRtpSender._next_encoded_frame),
        "sender keeps a preset encoder": "if self.__encoder is None"
        in inspect.getsource(sender_module.RTCRtpSender._next_encoded_frame),
        "PLI/FIR call sender._send_keyframe()": "self._send_keyframe()"
        in inspect.getsource(sender_module.RTCRtpSender._handle_rtcp_packet),
        "receive() registers through the transport": "_register_rtp_receiver(self, parameters)"
        in inspect.getsource(receiver_module.RTCRtpReceiver.receive),
        "aioice gathers hosts through get_component_candidates": "get_component_candidates(component=component"
        in inspect.getsource(aioice.ice.Connection.gather_candidates),
    }
    missing += [f"behaviour: {name}" for name, ok in checks.items() if not ok]
    return missing


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


def drop_outgoing_rtp(pc: RTCPeerConnection, should_drop: Callable[[bytes], bool]) -> None:
    """Test and benchmark aid: lose outgoing SRTP packets chosen by `should_drop`."""
    for transceiver in pc.getTransceivers():
        ice = transceiver.sender.transport.transport
        if getattr(ice, "_mentorlive_loss", False):
            continue
        original = getattr(ice, ICE_SEND)

        async def send(data: bytes, _o: Any = original) -> None:
            # SRTP (not SRTCP, not DTLS/STUN): RTP version bits and a non-RTCP type.
            if 127 < data[0] < 192 and not 192 <= data[1] <= 223 and should_drop(data):
                return
            await _o(data)

        setattr(ice, ICE_SEND, send)
        setattr(ice, "_mentorlive_loss", True)  # noqa: B010


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
