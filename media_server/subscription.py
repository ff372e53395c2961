"""One publication forwarded to one participant.

Lifecycle: created (waiting for a keyframe) -> forwarding -> closed; never reused.
A publisher reconnect rebinds the same subscription, so the subscriber keeps its
m-line and sees one continuous stream.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

if TYPE_CHECKING:
    from aiortc import RTCRtpTransceiver

_ids = itertools.count(1)


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
        self,
        publication_id: str,
        subscriber_id: str,
        kind: str,
        capacity: int,
        request_keyframe: Callable[[], None],
    ) -> None:
        self.id = f"sub{next(_ids)}"
        self.publication_id = publication_id
        self.subscriber_id = subscriber_id
        self.kind = kind
        self.capacity = capacity
        self._request_keyframe = request_keyframe
        self.track = ForwardedTrack(kind)
        self.transceiver: RTCRtpTransceiver | None = None
        self.waiting_keyframe = kind == "video"
        self.forwarded = 0
        self.skipped = 0
        self.closed = False

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid if self.transceiver is not None else None

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        """Queue one frame; a subscriber that fell behind restarts at the next keyframe."""
        if self.closed:
            return
        if self.waiting_keyframe:
            if not keyframe:
                self.skipped += 1
                return
            self.waiting_keyframe = False
        frames = self.track.frames
        if len(frames) >= self.capacity:
            self.skipped += len(frames)
            frames.clear()
            if self.kind == "video" and not keyframe:
                self.waiting_keyframe = True
                self.skipped += 1
                self._request_keyframe()
                return
        self.track.push(packet)
        self.forwarded += 1

    def rebind(self) -> ForwardedTrack:
        """Fresh track for a new peer connection (aiortc stops a sender's track with it)."""
        self.track = ForwardedTrack(self.kind)
        self.waiting_keyframe = self.kind == "video"
        return self.track

    def close(self) -> None:
        self.closed = True
        self.track.stop()
