"""One publication forwarded to one participant: a forwarder sink feeding one RTCRtpSender.

Lifecycle (SubscriptionState): waiting_keyframe -> forwarding -> closed, never reused;
a subscriber that falls behind goes back from forwarding to waiting_keyframe. A
publisher reconnect rebinds the same subscription, so the subscriber keeps its
m-line and sees one continuous stream.

Two forwarding paths, chosen per subscription: raw (`egress`, a `RawEgress` the
forwarder hands every RTP packet; the default, `[media] forwarding = "raw"`) or frames
(`offer()` queues each frame on a `ForwardedTrack` the aiortc sender packs). A raw
subscription whose subscriber negotiated another codec than the publisher's falls back
to frames when its sender starts. On the raw path the aiortc sender still owns the
m-line, SSRCs, RTCP (its reports carry the raw path's counts) and the PLI hook; its own
send loop stays parked on a track that never yields.

Congestion (`pause_video`/`resume_video`): a paused video subscription sends nothing
and restarts at a keyframe when resumed.

`offer()` runs per frame per subscriber on the event loop: no I/O, no logging, no
task wake-up beyond the sender's own. The subscription reads its publication only
through `SubscriptionSource`; it never imports the publication or participant.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from media_server.aiortc_hooks import outbound
from media_server.quality.scoring import Sample, StatsSample
from media_server.raw_egress import RawEgress

if TYPE_CHECKING:
    from aiortc import RTCRtpSender, RTCRtpTransceiver
    from aiortc.rtcrtpparameters import RTCRtpSendParameters

_ids = itertools.count(1)


class SubscriptionState(StrEnum):
    WAITING_KEYFRAME = "waiting_keyframe"  # holds delta frames back until a keyframe comes
    FORWARDING = "forwarding"
    CLOSED = "closed"


_NEXT = {
    SubscriptionState.WAITING_KEYFRAME: {SubscriptionState.FORWARDING, SubscriptionState.CLOSED},
    SubscriptionState.FORWARDING: {SubscriptionState.WAITING_KEYFRAME, SubscriptionState.CLOSED},
    SubscriptionState.CLOSED: set(),
}
# Local names for the per-frame path (no enum attribute lookups there).
_WAITING = SubscriptionState.WAITING_KEYFRAME
_FORWARDING = SubscriptionState.FORWARDING
_CLOSED = SubscriptionState.CLOSED


class SubscriptionSource(Protocol):
    """What a subscription reads of the publication it forwards (Publication implements it)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def muted(self) -> bool: ...

    @property
    def clock_rate(self) -> int: ...

    @property
    def mime_type(self) -> str: ...

    @property
    def frames_in(self) -> int:
        """Frames the publication has forwarded so far (what a subscriber could have got)."""

    def request_keyframe(self) -> None: ...


class ForwardedTrack(MediaStreamTrack):
    """What a subscriber's RTCRtpSender reads: encoded av.Packets, so it packs, never encodes."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.frames: deque[av.Packet] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def push(self, packet: av.Packet) -> None:
        self.frames.append(packet)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        while not self.frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self.frames.popleft()

    def stop(self) -> None:
        super().stop()
        self.frames.clear()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Subscription:
    def __init__(
        self, source: SubscriptionSource, subscriber_id: str, capacity: int, raw_history: int | None = None
    ) -> None:
        self.id = f"sub{next(_ids)}"
        self.source = source
        self.publication_id = source.id
        self.subscriber_id = subscriber_id
        self.kind = source.kind
        self.capacity = capacity
        self._request_keyframe = source.request_keyframe
        self.track = ForwardedTrack(self.kind)
        self.transceiver: RTCRtpTransceiver | None = None
        self.state = _WAITING if self.kind == "video" else _FORWARDING
        self._forwarded_frames = 0
        self.skipped = 0
        self.paused = False
        # The latest receiver report's view (set by stats_sample, read by the congestion rule).
        self.fraction_lost = 0.0
        self.rtt: float | None = None
        self.packets_sent = 0
        # Raw path unless configured off; None means frames from the start.
        self.egress: RawEgress | None = None
        if raw_history is not None:
            self.egress = RawEgress(
                self.kind, source.mime_type, source.clock_rate, raw_history, source.request_keyframe
            )
        self.uses_frames = self.egress is None

    @property
    def forwarded(self) -> int:
        """Frames sent to the subscriber (by whichever path)."""
        egress = self.egress
        return self._forwarded_frames + (egress.frames if egress is not None else 0)

    @property
    def raw_active(self) -> bool:
        return self.egress is not None and self.egress.active

    def bind_sender(self, sender: RTCRtpSender) -> None:
        """The subscriber's sender (a new one per peer connection): raw or frames is decided
        when it starts with its negotiated parameters."""
        outbound.on_send_parameters(sender, lambda parameters: self._sender_started(sender, parameters))

    def _sender_started(self, sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> None:
        # Whichever path feeds it, what waits on the subscriber's socket is bounded.
        outbound.bound_sends(sender.transport)
        egress = self.egress
        if egress is None or self.state is _CLOSED or egress.closed:
            return
        if egress.compatible(parameters):
            egress.configure(sender, parameters)
            if self.paused:
                egress.pause()
        else:
            egress.close()
            self.uses_frames = True
            if self.kind == "video":
                self._request_keyframe()

    def pause_video(self) -> None:
        if self.kind != "video" or self.paused:
            return
        self.paused = True
        if self.egress is not None:
            self.egress.pause()
        if self.state is _FORWARDING:
            self._move_to(_WAITING)
        self.track.frames.clear()

    def resume_video(self) -> None:
        if not self.paused:
            return
        self.paused = False
        if self.egress is not None:
            self.egress.resume()  # asks the publisher, once, for the keyframe both paths restart at
        else:
            self._request_keyframe()

    def _move_to(self, state: SubscriptionState) -> None:
        """The only place the state changes."""
        if state is self.state:
            return
        if state not in _NEXT[self.state]:
            raise RuntimeError(f"subscription {self.id}: {self.state} -> {state} is not a transition")
        self.state = state

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid if self.transceiver is not None else None

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        """Queue one frame; a subscriber that fell behind restarts at the next keyframe."""
        if not self.uses_frames or self.paused:
            return
        state = self.state
        if state is not _FORWARDING:
            if state is _CLOSED:
                return
            if not keyframe:
                self.skipped += 1
                return
            self._move_to(_FORWARDING)
        frames = self.track.frames
        if len(frames) >= self.capacity:
            self.skipped += len(frames)
            frames.clear()
            if self.kind == "video" and not keyframe:
                self._move_to(_WAITING)
                self.skipped += 1
                self._request_keyframe()
                return
        self.track.push(packet)
        self._forwarded_frames += 1

    def rebind(self) -> ForwardedTrack:
        """Fresh track for a new peer connection (aiortc stops a sender's track with it)."""
        self.track = ForwardedTrack(self.kind)
        if self.kind == "video" and self.state is not _CLOSED:
            self._move_to(_WAITING)
        if self.egress is not None and self.state is not _CLOSED:
            if self.egress.closed:
                # The raw path ended for good (a codec fallback, a failure): frames on the new
                # connection, whose fresh sender has its own sequence and SRTP state.
                self.uses_frames = True
            else:
                self.egress.unbind()
                self.uses_frames = False
        return self.track

    def close(self) -> None:
        self._move_to(_CLOSED)
        self.track.stop()
        if self.egress is not None:
            self.egress.close()

    async def stats_sample(self, now: float) -> StatsSample | None:
        """What reaches the subscriber, from its receiver reports (None until the m-line sends)."""
        transceiver = self.transceiver
        if self.state is _CLOSED or transceiver is None or transceiver.currentDirection != "sendonly":
            return None
        source = self.source
        report = await transceiver.sender.getStats()
        sent, lost, jitter, rtt = 0, 0, 0.0, None
        for stats in report.values():
            if stats.type == "outbound-rtp":
                sent = stats.packetsSent
            elif stats.type == "remote-inbound-rtp":
                lost = stats.packetsLost
                jitter = stats.jitter / source.clock_rate
                rtt = stats.roundTripTime
                self.fraction_lost = stats.fractionLost / 256
        egress = self.egress
        if egress is not None and not self.uses_frames:
            # The raw path keeps the publisher's holes; they are the publisher's loss, not ours.
            lost, self.fraction_lost = egress.downlink_lost, egress.downlink_fraction
        self.packets_sent = sent
        self.rtt = rtt
        sample = Sample(now, sent, lost, jitter, rtt, self.forwarded, source.frames_in)
        # A video paused for congestion is scored like a muted one: no frames is expected.
        muted = source.muted or self.paused
        return StatsSample(f"down:{self.id}", self.kind, "download", source.source, muted, sample)

    @property
    def nacks(self) -> int:
        return self.egress.nacks if self.egress is not None else 0

    @property
    def flowing(self) -> bool:
        """Sending to the subscriber now (what the congestion rule may read)."""
        return self.state is not _CLOSED and not self.paused and self.packets_sent > 0
