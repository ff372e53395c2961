"""Samples RTCP statistics of every publication and subscription on a fixed interval.

Uploads are measured on the server's receivers (what reaches us from a publisher),
downloads on the server's senders (receiver reports from each subscriber). A
participant's quality is the worst of its tracks, smoothed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from media_server.aiortc_hooks import inbound
from media_server.events import QualityChanged
from media_server.quality.scoring import Sample, Smoothed, TrackWindow, Verdict, level_for

if TYPE_CHECKING:
    from media_server.node import MediaNode
    from media_server.participant import Participant
    from media_server.room import Room


@dataclass
class _State:
    windows: dict[str, TrackWindow] = field(default_factory=dict)
    smooth: Smoothed = field(default_factory=Smoothed)
    level: str = "excellent"
    reason: str = ""


class QualityMonitor:
    def __init__(self, node: MediaNode) -> None:
        self.node = node
        self.interval = node.settings.quality_interval
        self.window = node.settings.quality_window
        self._state: dict[str, _State] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.sample_all()

    async def sample_all(self) -> None:
        present: set[str] = set()
        for room in list(self.node.rooms.values()):
            for participant in list(room.participants.values()):
                present.add(participant.id)
                await self._sample(room, participant)
        for gone in set(self._state) - present:
            del self._state[gone]

    async def _sample(self, room: Room, participant: Participant) -> None:
        state = self._state.setdefault(participant.id, _State())
        now = time.monotonic()
        active: set[str] = set()
        rtts: list[float] = []
        muted: dict[str, bool] = {}
        for subscription in list(participant.subscriptions.values()):
            publication = room.find_publication(subscription.publication_id)
            transceiver = subscription.transceiver
            if publication is None or transceiver is None or transceiver.currentDirection != "sendonly":
                continue
            report = await transceiver.sender.getStats()
            sent, lost, jitter, rtt = 0, 0, 0.0, None
            for stats in report.values():
                if stats.type == "outbound-rtp":
                    sent = stats.packetsSent
                elif stats.type == "remote-inbound-rtp":
                    lost = stats.packetsLost
                    jitter = stats.jitter / publication.codec.clock_rate
                    rtt = stats.roundTripTime
            if rtt is not None:
                rtts.append(rtt)
            key = f"down:{subscription.id}"
            active.add(key)
            muted[key] = publication.muted
            window = state.windows.setdefault(
                key, TrackWindow(subscription.kind, "download", publication.source, self.window)
            )
            window.add(Sample(now, sent, lost, jitter, rtt, subscription.forwarded, publication.forwarder.frames_in))
        for publication in list(participant.publications.values()):
            if not publication.live or publication.receiver is None:
                continue
            counters = inbound.inbound_counters(publication.receiver, publication.media_ssrc)
            received, lost, jitter_units = counters if counters is not None else (0, 0, 0)
            frames = publication.forwarder.frames_in
            key = f"up:{publication.id}"
            active.add(key)
            muted[key] = publication.muted
            window = state.windows.setdefault(
                key, TrackWindow(publication.kind, "upload", publication.source, self.window)
            )
            window.add(
                Sample(now, received, lost, jitter_units / publication.codec.clock_rate, None, frames, frames)
            )
        for key in set(state.windows) - active:
            del state.windows[key]
        fallback_rtt = min(rtts) if rtts else None
        verdicts = [
            v for key in active if (v := state.windows[key].verdict(muted[key], fallback_rtt)) is not None
        ]
        if not verdicts:
            return
        self._publish(room, participant, state, min(verdicts, key=lambda v: v.score))

    def _publish(self, room: Room, participant: Participant, state: _State, worst: Verdict) -> None:
        score = round(state.smooth.update(worst.score), 1)
        level = level_for(score)
        reason = "" if level == "excellent" else (worst.reason or state.reason)
        participant.quality = {"level": level, "score": score, "reason": reason}
        if level == state.level and reason == state.reason:
            return
        state.level, state.reason = level, reason
        room.broadcast({"type": "quality", "participant_id": participant.id, **participant.quality})
        self.node.emit(QualityChanged(room.code, participant.id, participant.user_id, level, score, reason))
