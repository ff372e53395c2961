"""A track one participant sends (camera, microphone or screen) and its forwarding.

Lifecycle (PublicationState): pending (m-line offered) -> live (answer accepted) ->
ended; pending -> ended when it never went live. Ending closes the forwarder, which
closes every sink (subscriptions, the recording track). A media reconnect binds a
new receiver to the same publication (generation + 1), so subscriptions and the
recording carry on; frames from an older binding are ignored.

An audio publication also keeps the loudest RFC 6464 level its packets carried since
the room's speaker timer last read it (`take_audio_level`): the only per-packet work
for the active speaker.

The publication tells its participant that its source ended through a callback;
it never imports the participant.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media_server.aiortc_hooks import inbound
from media_server.codecs import CodecChoice
from media_server.forwarder import Forwarder
from media_server.keyframes import KeyframeRequester
from media_server.quality.scoring import Sample, StatsSample
from media_server.subscription import Subscription

if TYPE_CHECKING:
    from aiortc import RTCRtpReceiver, RTCRtpTransceiver

_ids = itertools.count(1)
SILENT = 127  # RFC 6464: -127 dBov, digital silence


class PublicationState(StrEnum):
    PENDING = "pending"
    LIVE = "live"
    ENDED = "ended"


_NEXT = {
    PublicationState.PENDING: {PublicationState.LIVE, PublicationState.ENDED},
    PublicationState.LIVE: {PublicationState.ENDED},
    PublicationState.ENDED: set(),
}


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
        self.state = PublicationState.PENDING
        self.forwarder = Forwarder(codec)
        self.keyframes = KeyframeRequester(self._send_pli, keyframe_interval)
        self.transceiver: RTCRtpTransceiver | None = None
        self.media_ssrc: int | None = None
        self._generation = 0
        self._on_source_end = on_source_end
        # The loudest level heard since the last read, and when a level last arrived.
        self.audio_level = SILENT
        self.audio_heard_at = 0.0

    def _move_to(self, state: PublicationState) -> bool:
        """The only place the state changes; False when it already was `state`."""
        if state is self.state:
            return False
        if state not in _NEXT[self.state]:
            raise RuntimeError(f"publication {self.id}: {self.state} -> {state} is not a transition")
        self.state = state
        return True

    @property
    def live(self) -> bool:
        return self.state is PublicationState.LIVE

    @property
    def ended(self) -> bool:
        return self.state is PublicationState.ENDED

    @property
    def receiver(self) -> RTCRtpReceiver | None:
        return self.transceiver.receiver if self.transceiver is not None else None

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid if self.transceiver is not None else None

    @property
    def clock_rate(self) -> int:
        return self.codec.clock_rate

    @property
    def mime_type(self) -> str:
        return self.codec.mime_type

    @property
    def frames_in(self) -> int:
        return self.forwarder.frames_in

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

        def on_packet(packet: RtpPacket) -> None:
            if generation == self._generation:
                forwarder.on_packet(packet)

        inbound.tap_receiver(transceiver.receiver, self.kind, on_frame, on_end, forwarder.resync, on_packet)
        if self.kind == "audio":
            inbound.watch_audio_level(transceiver.receiver, self._heard)

    def _heard(self, level: int) -> None:
        """Per audio packet (hot path): store, nothing else."""
        if level < self.audio_level:
            self.audio_level = level
        self.audio_heard_at = time.monotonic()

    def take_audio_level(self, now: float, max_age: float) -> int:
        """The loudest level since the last call (SILENT when none arrived within `max_age`)."""
        level = self.audio_level if now - self.audio_heard_at <= max_age else SILENT
        self.audio_level = SILENT
        return level

    def go_live(self) -> bool:
        """The publisher's answer accepted the m-line; True the first time."""
        return self._move_to(PublicationState.LIVE)

    def add_subscription(self, subscription: Subscription) -> None:
        self.forwarder.add(subscription)
        if subscription.egress is not None:
            # A raw subscription asks once its sender has started (sooner, the keyframe
            # would pass before it can send, and the throttle would delay the next one).
            self.forwarder.add_raw(subscription.egress)
        elif self.kind == "video":
            self.request_keyframe()

    def remove_subscription(self, subscription: Subscription) -> None:
        self.forwarder.remove(subscription)
        if subscription.egress is not None:
            self.forwarder.remove_raw(subscription.egress)

    def request_keyframe(self) -> None:
        self.keyframes.request()

    async def _send_pli(self) -> None:
        receiver = self.receiver
        if receiver is None or self.media_ssrc is None:
            return
        await inbound.send_pli(receiver, self.media_ssrc)

    def end(self) -> None:
        if not self._move_to(PublicationState.ENDED):
            return
        self.keyframes.close()
        self.forwarder.close()

    def stats_sample(self, now: float) -> StatsSample | None:
        """What reaches the server from the publisher (None unless live)."""
        receiver = self.receiver
        if not self.live or receiver is None:
            return None
        counters = inbound.inbound_counters(receiver, self.media_ssrc)
        received, lost, jitter_units = counters if counters is not None else (0, 0, 0)
        frames = self.forwarder.frames_in
        sample = Sample(now, received, lost, jitter_units / self.codec.clock_rate, None, frames, frames)
        return StatsSample(f"up:{self.id}", self.kind, "upload", self.source, self.muted, sample)

    def describe(self) -> dict[str, object]:
        return {
            "publication_id": self.id,
            "participant_id": self.participant_id,
            "source": self.source,
            "kind": self.kind,
            "codec": self.codec.name,
            "muted": self.muted,
        }
