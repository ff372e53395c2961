"""The benchmark's struggling viewers: full aiortc receivers behind a downlink that loses 20 %.

`--struggling K` adds K of them to a point, beside the N (light or full) healthy subscribers.
They are real receivers (jitter buffer, NACK, PLI, receiver reports every second), which is
what an SFU's congestion response reads; light subscribers send none of that. Once every
subscriber has video, each struggling viewer's peer connection starts losing `LOSS` of the
RTP packets arriving on it (media_server.testing.loss.drop_incoming_rtp, at the ICE
transport, before SRTP), with the link's own counters: what the SFU sent into it, per
kind, and what got through.

Per point the load process reports, for the window:

- `struggling_video_ratio`: complete video frames (distinct RTP timestamps) the struggling
  viewer's jitter buffer gave out over the frames the publisher sent (the most any struggling
  viewer got); complete is not decodable: a frame after a lost one is counted;
- `struggling_audio_ratio`: audio packets that got through its link over the packets the
  publisher sent (the least any struggling viewer got): the link loses `LOSS` of whatever
  is sent, so about 0.8 is the link's ceiling; what matters is that audio keeps coming;
- `struggling_link_video_ratio`: video RTP packets (RTX included) the SFU sent into the
  struggling link over the publisher's video packets: near 0 when its video is paused,
  near or above 1 when the SFU keeps sending (and retransmitting) into a link that loses;
- `struggling_paused`: per struggling viewer, seconds from the loss's start to media_server's
  first `video_paused` on /rtc (null: never paused); null for Janus, which has no such message.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from bench.sfu_forwarding_light import PREFIX
from media_server.aiortc_hooks import inbound
from media_server.testing.loss import drop_incoming_rtp

# The share of RTP packets a struggling viewer's downlink loses (twice the SFU's pause threshold).
LOSS = 0.2
TRANSPORT_ROUTER = "_rtp_router"
# media_server's congestion messages on /rtc (media_server.congestion).
PAUSED, RESUMED = "video_paused", "video_resumed"
# How often the /rtc messages are looked at for a pause: the reported time is this precise.
WATCH_INTERVAL = 0.05


def payload_kinds(pc: RTCPeerConnection) -> dict[int, str]:
    """Payload type -> "audio"/"video" as the peer connection's receivers registered them."""
    kinds: dict[int, str] = {}
    for transceiver in pc.getTransceivers():
        router = getattr(transceiver.receiver.transport, TRANSPORT_ROUTER)
        for pt, receivers in router.payload_type_table.items():
            if transceiver.receiver in receivers:
                kinds[pt] = transceiver.kind
    return kinds


@dataclass
class LossyDownlink:
    """drop_incoming_rtp's predicate: loses `loss` of the RTP packets, counting per kind what
    arrived (what the SFU sent into the link) and what got through."""

    kinds: dict[int, str]
    loss: float
    rng: random.Random
    sent: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    delivered: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})

    def __call__(self, data: bytes) -> bool:
        # Only video has RTX, whose payload type a receiver may not register: unknown is video.
        kind = self.kinds.get(data[1] & 0x7F, "video")
        self.sent[kind] += 1
        if self.rng.random() < self.loss:
            return True
        self.delivered[kind] += 1
        return False


@dataclass
class FrameAges:
    """How late frames reach a struggling viewer: a frame's first bytes name the clip frame
    (as bench.sfu_forwarding_light does), whose latest send time the publisher keeps; ages
    are kept while `samples` is a list. A frame sent again since (the clip restarts at every
    keyframe request) matches its newer send and is left out, so late frames are undercounted."""

    index: dict[bytes, int]
    send_times: dict[int, float]
    samples: list[float] | None = None

    def observe(self, data: bytes) -> None:
        if self.samples is None:
            return
        clip_frame = self.index.get(data[:PREFIX])
        sent = None if clip_frame is None else self.send_times.get(clip_frame)
        if sent is not None and 0 <= time.time() - sent < 5:
            self.samples.append(time.time() - sent)


class DistinctFrames:
    """Stands in a video receiver's frame queue (before media_server's FrameTap): counts each
    frame once by its RTP timestamp. A retransmission arriving long after its frame makes
    aiortc's jitter buffer start over from it and hand out frames again; the publisher's
    timestamps never repeat, so counting distinct ones counts frames the viewer got."""

    def __init__(self, inner: Any, ages: FrameAges | None = None) -> None:
        self.inner = inner
        self.ages = ages
        self.timestamps: set[int] = set()

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is not None and item[1].timestamp not in self.timestamps:
            self.timestamps.add(item[1].timestamp)
            if self.ages is not None:
                self.ages.observe(item[1].data)
        self.inner.put(item)

    def get(self) -> Any:
        return self.inner.get()


@dataclass(frozen=True)
class Counts:
    """One struggling viewer's cumulative counters at one moment."""

    video_frames: int
    audio_packets: int
    link_video_packets: int
    link_packets: int
    keyframe_requests: int = 0

    def __sub__(self, earlier: Counts) -> Counts:
        return Counts(
            self.video_frames - earlier.video_frames,
            self.audio_packets - earlier.audio_packets,
            self.link_video_packets - earlier.link_video_packets,
            self.link_packets - earlier.link_packets,
            self.keyframe_requests - earlier.keyframe_requests,
        )


class Struggler:
    """One struggling viewer, whatever the signaling: its peer connection, its video frame
    count, and (media_server) its /rtc messages."""

    def __init__(
        self,
        pc: Callable[[], RTCPeerConnection | None],
        video_frames: Callable[[], int],
        messages: list[dict[str, Any]] | None = None,
    ) -> None:
        self._pc = pc
        self._video_frames = video_frames
        self._messages = messages
        self.link: LossyDownlink | None = None
        self.loss_started: float | None = None
        self.paused_at: list[float] = []
        self.resumed_at: list[float] = []
        # Keyframe requests (PLI) this viewer's receivers sent since the loss began.
        self.plis = 0
        self._distinct: list[DistinctFrames] = []
        self._watcher: asyncio.Task[None] | None = None

    def pc(self) -> RTCPeerConnection | None:
        return self._pc()

    def frames(self) -> int:
        """Video frames handed out (before the loss: is video flowing yet?)."""
        return self._video_frames()

    def start_loss(self, loss: float, rng: random.Random, ages: FrameAges | None = None) -> None:
        pc = self._pc()
        if pc is None:
            raise RuntimeError("a struggling viewer has no peer connection to lose packets on")
        self.link = LossyDownlink(payload_kinds(pc), loss, rng)
        drop_incoming_rtp(pc, self.link)
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                self._count_plis(transceiver.receiver)
                distinct = DistinctFrames(getattr(transceiver.receiver, inbound.RECEIVER_DECODER_QUEUE), ages)
                setattr(transceiver.receiver, inbound.RECEIVER_DECODER_QUEUE, distinct)
                self._distinct.append(distinct)
        self.loss_started = time.monotonic()
        if self._messages is not None:
            self._watcher = asyncio.create_task(self._watch(self._messages))

    def _count_plis(self, receiver: Any) -> None:
        original = getattr(receiver, inbound.RECEIVER_SEND_PLI)

        async def send_pli(media_ssrc: int) -> None:
            self.plis += 1
            await original(media_ssrc)

        setattr(receiver, inbound.RECEIVER_SEND_PLI, send_pli)

    async def _watch(self, messages: list[dict[str, Any]]) -> None:
        seen = 0
        while True:
            now = time.monotonic()
            for message in messages[seen:]:
                if message.get("type") == PAUSED:
                    self.paused_at.append(now)
                elif message.get("type") == RESUMED:
                    self.resumed_at.append(now)
            seen = len(messages)
            await asyncio.sleep(WATCH_INTERVAL)

    def counts(self) -> Counts:
        link = self.link
        audio = link.delivered["audio"] if link else 0
        link_video = link.sent["video"] if link else 0
        link_all = link_video + (link.sent["audio"] if link else 0)
        frames = sum(len(d.timestamps) for d in self._distinct)
        return Counts(frames, audio, link_video, link_all, self.plis)

    def paused_after(self) -> float | None:
        """Seconds from the loss's start to the first pause, None when never paused."""
        if not self.paused_at or self.loss_started is None:
            return None
        return round(self.paused_at[0] - self.loss_started, 1)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)


class Strugglers:
    """Every struggling viewer of a point; tells the light hook which transports are theirs."""

    def __init__(self, ages: FrameAges) -> None:
        self.viewers: list[Struggler] = []
        self.ages = ages

    def owns(self, transport: RTCDtlsTransport) -> bool:
        """Whether `transport` carries a struggling viewer (full receiving, not light counting)."""
        for viewer in self.viewers:
            pc = viewer.pc()
            if pc is not None and any(t.receiver.transport is transport for t in pc.getTransceivers()):
                return True
        return False

    def start_loss(self, loss: float = LOSS, seed: int | None = None) -> None:
        rng = random.Random(seed)
        for viewer in self.viewers:
            viewer.start_loss(loss, rng, self.ages)

    def counts(self) -> list[Counts]:
        return [viewer.counts() for viewer in self.viewers]

    async def close(self) -> None:
        for viewer in self.viewers:
            await viewer.close()


@dataclass
class FrameCounter:
    count: int = 0

    def add(self, codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
        self.count += 1


def tap_full_receiving(pc: RTCPeerConnection) -> FrameCounter:
    """Jitter buffers without decoders on every receiver of `pc` (as media_server's test client
    has); returns the count of complete video frames. Call after the remote offer, before answering."""
    inbound.fix_rtx_routing(pc)
    video = FrameCounter()
    for transceiver in pc.getTransceivers():
        on_frame = video.add if transceiver.kind == "video" else FrameCounter().add
        inbound.tap_receiver(transceiver.receiver, transceiver.kind, on_frame, lambda: None)
    return video


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole > 0 else None


def percentile_ms(samples: Sequence[float], share: float) -> float | None:
    ordered = sorted(samples)
    if not ordered:
        return None
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


def summary(
    before: Sequence[Counts],
    after: Sequence[Counts],
    *,
    published_frames: int,
    published_audio_packets: int,
    published_video_packets: int,
    paused: list[float | None] | None,
    resumes: int | None,
    ages: Sequence[float] = (),
    loss: float = LOSS,
) -> dict[str, Any]:
    """The point's struggling-viewer keys from counters at the window's start and end.

    Video and the link's video: the most any struggling viewer got (the claim is that it gets
    little); audio: the least (the claim is that it keeps coming). All None without viewers.
    """
    deltas = [end - start for start, end in zip(before, after, strict=True)]
    video = [ratio(d.video_frames, published_frames) for d in deltas]
    audio = [ratio(d.audio_packets, published_audio_packets) for d in deltas]
    link = [ratio(d.link_video_packets, published_video_packets) for d in deltas]
    return {
        "struggling": len(deltas),
        "struggling_loss": loss if deltas else None,
        "struggling_video_ratio": max((v for v in video if v is not None), default=None),
        "struggling_audio_ratio": min((v for v in audio if v is not None), default=None),
        "struggling_link_video_ratio": max((v for v in link if v is not None), default=None),
        # How late the struggling viewers' frames came (a stalled jitter buffer lets a backlog go at
        # once: frames sent before the window can arrive in it, so the video share can pass 100 %).
        "struggling_latency_p50_ms": percentile_ms(ages, 0.5),
        "struggling_latency_p95_ms": percentile_ms(ages, 0.95),
        "struggling_paused": paused if deltas else None,
        "struggling_resumes": resumes if deltas else None,
        "struggling_keyframe_requests": sum(d.keyframe_requests for d in deltas) if deltas else None,
        # RTP the SFU sent into the struggling links (before their loss): forwarded packets too.
        "struggling_link_packets": sum(d.link_packets for d in deltas),
    }


async def video_packets_sent(pc: RTCPeerConnection) -> int:
    """The video RTP packets a (publishing) peer connection has sent."""
    return sum(
        int(stats.packetsSent)
        for stats in (await pc.getStats()).values()
        if stats.type == "outbound-rtp" and stats.kind == "video"
    )
