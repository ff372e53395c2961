"""The quality monitor's loop: one participant's failure does not stop scoring for the others."""

from __future__ import annotations

import asyncio
import logging

import pytest

from media_server.quality.monitor import QualityMonitor
from media_server.quality.scoring import Sample, StatsSample


class Participant:
    """A participant as the monitor sees it (media_server.quality.monitor.Rated)."""

    def __init__(self, participant_id: str, broken: bool = False) -> None:
        self.id = participant_id
        self.broken = broken
        self.samples = 0
        self.scored: list[tuple[str, str]] = []

    async def stats_samples(self, now: float) -> list[StatsSample]:
        if self.broken:
            raise RuntimeError("stats unavailable")
        self.samples += 1
        # An upload that lost a fifth of its packets.
        sample = Sample(now, 100 * self.samples, 25 * self.samples, 0.0, None, 30 * self.samples, 30 * self.samples)
        return [StatsSample(f"up:{self.id}", "video", "upload", "camera", False, sample)]

    def quality_scored(self, level: str, score: float, reason: str, changed: bool) -> None:
        self.scored.append((level, reason))


async def test_a_failing_participant_does_not_stop_scoring_for_the_others(caplog: pytest.LogCaptureFixture) -> None:
    broken, fine = Participant("p1", broken=True), Participant("p2")
    monitor = QualityMonitor(0.01, 1.0, lambda: [broken, fine])
    with caplog.at_level(logging.ERROR, logger="media_server.quality.monitor"):
        monitor.start()
        for _ in range(500):
            if len(fine.scored) >= 3:
                break
            await asyncio.sleep(0.01)
        await monitor.stop()
    assert len(fine.scored) >= 3, "the monitor went on sampling the others"
    assert "packet loss on your upload" in fine.scored[-1][1]
    assert "quality sampling failed for participant p1" in caplog.text and "stats unavailable" in caplog.text
