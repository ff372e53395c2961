"""Where quality is scored: every participant's track samples, on a fixed interval.

Each Publication samples what reaches the server from its publisher (upload) and each
Subscription what its subscriber's receiver reports say (download); the monitor keeps
them in windows, scores them (`scoring`), and hands each participant the worst of its
tracks, smoothed. It sees participants only through `Rated`, so it imports neither
the node, the room nor the participant.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from media_server.quality.scoring import Smoothed, StatsSample, TrackWindow, Verdict, level_for

log = logging.getLogger(__name__)


class Rated(Protocol):
    """A participant as the monitor sees it (Participant implements it)."""

    @property
    def id(self) -> str: ...

    async def stats_samples(self, now: float) -> list[StatsSample]: ...

    def quality_scored(self, level: str, score: float, reason: str, changed: bool) -> None: ...


@dataclass
class _State:
    windows: dict[str, TrackWindow] = field(default_factory=dict)
    smooth: Smoothed = field(default_factory=Smoothed)
    level: str = "excellent"
    reason: str = ""


class QualityMonitor:
    def __init__(self, interval: float, window: float, participants: Callable[[], Iterable[Rated]]) -> None:
        self.interval = interval
        self.window = window
        self._participants = participants
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
        for participant in list(self._participants()):
            present.add(participant.id)
            try:
                await self._sample(participant)
            except Exception:
                # One participant's failure must not end scoring (and the congestion response
                # it drives) for everyone on the node, silently.
                log.exception("quality sampling failed for participant %s", participant.id)
        for gone in set(self._state) - present:
            del self._state[gone]

    async def _sample(self, participant: Rated) -> None:
        state = self._state.setdefault(participant.id, _State())
        samples = await participant.stats_samples(time.monotonic())
        rtts = [s.sample.rtt for s in samples if s.sample.rtt is not None]
        muted: dict[str, bool] = {}
        for track in samples:
            muted[track.key] = track.muted
            window = state.windows.setdefault(
                track.key, TrackWindow(track.kind, track.direction, track.source, self.window)
            )
            window.add(track.sample)
        for key in set(state.windows) - set(muted):
            del state.windows[key]
        fallback_rtt = min(rtts) if rtts else None
        verdicts = [
            v for key in muted if (v := state.windows[key].verdict(muted[key], fallback_rtt)) is not None
        ]
        if not verdicts:
            return
        self._publish(participant, state, min(verdicts, key=lambda v: v.score))

    def _publish(self, participant: Rated, state: _State, worst: Verdict) -> None:
        score = round(state.smooth.update(worst.score), 1)
        level = level_for(score)
        reason = "" if level == "excellent" else (worst.reason or state.reason)
        changed = level != state.level or reason != state.reason
        if changed:
            state.level, state.reason = level, reason
        participant.quality_scored(level, score, reason, changed)
