"""A track one participant sends (camera, microphone or screen) and its forwarding.

Lifecycle: pending (m-line offered) -> live (answer accepted) -> ended. A media
reconnect binds a new receiver to the same publication (generation + 1), so
subscriptions and the recording carry on; frames from an older binding are ignored.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media_server.aiortc_hooks import inbound
from media_server.codecs import CodecChoice
from media_server.forwarder import Forwarder
from media_server.keyframes import KeyframeRequester
from media_server.subscription import Subscription

if TYPE_CHECKING:
    from aiortc import RTCRtpReceiver, RTCRtpTransceiver

_ids = itertools.count(1)


class Publication:
    def __init__(
        self,
        participant_id: str,
        user_id: str,
        source: str,
        codec: CodecChoice,
        keyframe_interval: float,
        on_source_end: Callable[[Publication], None],
    ) -> None:
        self.id = f"pub{next(_ids)}"
        self.participant_id = participant_id
        self.user_id = user_id
        self.source = source
        self.kind = codec.kind
        self.codec = codec
        self.muted = False
        self.live = False
        self.ended = False
        self.forwarder = Forwarder(codec)
        self.keyframes = KeyframeRequester(self._send_pli, keyframe_interval)
        self.transceiver: RTCRtpTransceiver | None = None
        self.media_ssrc: int | None = None
        self._generation = 0
        self._on_source_end = on_source_end

    @property
    def receiver(self) -> RTCRtpReceiver | None:
        return self.transceiver.receiver if self.transceiver is not None else None

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid if self.transceiver is not None else None

    def attach(self, transceiver: RTCRtpTransceiver) -> None:
        """Take frames from this (not yet started) receiver from now on."""
        self._generation += 1
        generation = self._generation
        if self.transceiver is not None:
            self.forwarder.new_source()
        self.transceiver = transceiver
        self.media_ssrc = None
        forwarder = self.forwarder

        def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame) -> None:
            if generation == self._generation:
                forwarder.on_frame(frame.data, frame.timestamp)

        def on_end() -> None:
            if generation == self._generation and not self.ended:
                self._on_source_end(self)

        inbound.tap_receiver(transceiver.receiver, self.kind, on_frame, on_end, forwarder.resync)

    def add_subscription(self, subscription: Subscription) -> None:
        self.forwarder.subscriptions[subscription.id] = subscription
        if self.kind == "video":
            self.keyframes.request()

    def remove_subscription(self, subscription: Subscription) -> None:
        self.forwarder.subscriptions.pop(subscription.id, None)

    async def _send_pli(self) -> None:
        receiver = self.receiver
        if receiver is None or self.media_ssrc is None:
            return
        await inbound.send_pli(receiver, self.media_ssrc)

    def end(self) -> None:
        self.ended = True
        self.live = False
        self.keyframes.close()
        self.forwarder.record_sink = None
        for subscription in list(self.forwarder.subscriptions.values()):
            subscription.close()
        self.forwarder.subscriptions.clear()

    def describe(self) -> dict[str, object]:
        return {
            "publication_id": self.id,
            "participant_id": self.participant_id,
            "source": self.source,
            "kind": self.kind,
            "codec": self.codec.name,
            "muted": self.muted,
        }
