"""One publication forwarded to one participant: a forwarder sink feeding one RTCRtpSender.

Lifecycle (SubscriptionState): waiting_keyframe -> forwarding -> closed, never reused;
a subscriber that falls behind goes back from forwarding to waiting_keyframe. A
publisher reconnect rebinds the same subscription, so the subscriber keeps its
m-line and sees one continuous stream.

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

from media_server.quality.scoring import Sample, StatsSample

if TYPE_CHECKING:
    from aiortc import RTCRtpTransceiver

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
    def __init__(self, source: SubscriptionSource, subscriber_id: str, capacity: int) -> None:
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
        self.forwarded = 0
        self.skipped = 0

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
        self.forwarded += 1

    def rebind(self) -> ForwardedTrack:
        """Fresh track for a new peer connection (aiortc stops a sender's track with it)."""
        self.track = ForwardedTrack(self.kind)
        if self.kind == "video" and self.state is not _CLOSED:
            self._move_to(_WAITING)
        return self.track

    def close(self) -> None:
        self._move_to(_CLOSED)
        self.track.stop()

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
        sample = Sample(now, sent, lost, jitter, rtt, self.forwarded, source.frames_in)
        return StatsSample(f"down:{self.id}", self.kind, "download", source.source, source.muted, sample)
