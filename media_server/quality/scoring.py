"""Connection quality scoring: pure functions over windows of statistics samples.

Modelled on LiveKit's connection quality: effective delay = RTT/2 + 2 x jitter,
a packet score of 100 minus a delay effect minus loss% x weight, the minimum over
a participant's tracks, smoothed (slow to rise, fast to fall), mapped to levels.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

LOSS_WEIGHT = {"audio": 4.0, "video": 5.0}
RISE = 0.3  # share of the gap closed per sample when things get better


@dataclass(frozen=True)
class Sample:
    at: float
    packets: int  # sent (download) or received (upload), cumulative
    lost: int  # cumulative
    jitter: float  # seconds, current
    rtt: float | None  # seconds, current
    frames: int  # delivered frames, cumulative
    expected_frames: int  # frames the source produced, cumulative (download) or same as frames


@dataclass(frozen=True)
class StatsSample:
    """One track's sample, as its Publication (upload) or Subscription (download) produces it."""

    key: str  # stable per track: "up:<publication id>" | "down:<subscription id>"
    kind: str  # audio | video
    direction: str  # upload | download
    source: str  # camera | microphone | screen
    muted: bool
    sample: Sample


@dataclass(frozen=True)
class Verdict:
    score: float
    reason: str


def level_for(score: float) -> str:
    if score > 80:
        return "excellent"
    if score > 40:
        return "good"
    if score > 20:
        return "poor"
    return "lost"


class TrackWindow:
    """Samples of one track over the scoring window."""

    def __init__(self, kind: str, direction: str, source: str, window: float) -> None:
        self.kind = kind
        self.direction = direction  # "upload" | "download"
        self.source = source
        self.window = window
        self.samples: deque[Sample] = deque()

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)
        while len(self.samples) > 2 and sample.at - self.samples[1].at >= self.window:
            self.samples.popleft()

    def verdict(self, muted: bool, fallback_rtt: float | None) -> Verdict | None:
        if len(self.samples) < 2:
            return None
        first, last = self.samples[0], self.samples[-1]
        span = max(last.at - first.at, 1e-3)
        where = f"your {self.direction}"
        frames = last.frames - first.frames
        if frames <= 0 and not muted and span >= self.window * 0.5:
            if self.direction == "upload":
                return Verdict(0.0, f"no {self.kind} from your {self.source} is arriving")
            if last.expected_frames - first.expected_frames > 0:
                return Verdict(0.0, f"no {self.source} {self.kind} is reaching you")
        packets = last.packets - first.packets
        lost = max(last.lost - first.lost, 0)
        total = packets + lost if self.direction == "upload" else packets
        loss_pct = 100.0 * lost / total if total > 0 else 0.0
        rtt = last.rtt if last.rtt is not None else fallback_rtt
        delay_ms = 1000.0 * ((rtt or 0.0) / 2 + 2 * last.jitter)
        delay_effect = 0.0 if delay_ms <= 150 else min(40.0, (delay_ms - 150) / 10)
        loss_effect = loss_pct * LOSS_WEIGHT[self.kind]
        score = 100.0 - delay_effect - loss_effect
        reason = ""
        if loss_effect >= 5 and loss_effect >= delay_effect:
            reason = f"{loss_pct:.0f}% packet loss on {where}"
        elif delay_effect >= 5:
            reason = f"high delay ({delay_ms:.0f} ms) on {where}"
        expected = last.expected_frames - first.expected_frames
        if self.direction == "download" and expected > 0 and self.kind == "video":
            delivered = frames / expected
            if delivered < 0.8:
                frame_score = 100.0 * delivered
                if frame_score < score:
                    score = frame_score
                    reason = f"{100 - 100 * delivered:.0f}% of {self.source} frames skipped on {where}"
        return Verdict(max(0.0, min(100.0, score)), reason)


class Smoothed:
    """Falls at once, rises a share of the gap per sample."""

    def __init__(self) -> None:
        self.value: float | None = None

    def update(self, score: float) -> float:
        if self.value is None or score < self.value:
            self.value = score
        else:
            self.value += (score - self.value) * RISE
        return self.value
