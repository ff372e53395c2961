"""Congestion response without simulcast: when a subscriber's downlink cannot carry video.

With one encoding per publisher there is no lower layer to switch a struggling viewer
to, so the choice is all or nothing: keep sending video that arrives broken (and drags
its audio down with it) or pause that viewer's video and keep the audio clean. The rule:

- the downlink is bad when the loss its receiver reports (RTCP fraction lost, or the
  share of packets it NACKs, whichever is higher) reaches `pause_loss`, or its round
  trip reaches `pause_rtt`; bad for `pause_after` seconds in a row pauses video;
- while paused, audio keeps flowing and keeps measuring the downlink; good (loss below
  `resume_loss` and round trip below `pause_rtt`) for the resume hold resumes video,
  which then restarts at a keyframe;
- hysteresis: the pause and resume thresholds differ, and a relapse within
  `relapse_window` seconds of a resume doubles the resume hold (up to `max_resume_after`),
  so a link at the edge does not flap.

Pure: time comes from the injected clock, nothing here touches media or sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PAUSED = "video_paused"
RESUMED = "video_resumed"
REASON = "poor_connection"
MESSAGE = "Video paused: poor connection"


@dataclass(frozen=True)
class CongestionPolicy:
    pause_loss: float = 0.1
    resume_loss: float = 0.03
    pause_rtt: float = 1.0
    pause_after: float = 2.0
    resume_after: float = 4.0
    max_resume_after: float = 60.0
    relapse_window: float = 20.0


@dataclass(frozen=True)
class Downlink:
    """One reading of a subscriber's downlink."""

    loss: float  # 0..1, from receiver reports
    rtt: float | None  # seconds
    nack_rate: float = 0.0  # NACKed packets per packet sent, 0..1

    @property
    def effective_loss(self) -> float:
        return max(self.loss, self.nack_rate)


class CongestionRule:
    def __init__(self, policy: CongestionPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self.paused = False
        self._bad_since: float | None = None
        self._good_since: float | None = None
        self._resumed_at: float | None = None
        self.resume_after = policy.resume_after

    def _bad(self, reading: Downlink) -> bool:
        p = self.policy
        return reading.effective_loss >= p.pause_loss or (reading.rtt is not None and reading.rtt >= p.pause_rtt)

    def _good(self, reading: Downlink) -> bool:
        p = self.policy
        return reading.effective_loss < p.resume_loss and (reading.rtt is None or reading.rtt < p.pause_rtt)

    def observe(self, reading: Downlink | None) -> str | None:
        """PAUSED or RESUMED when this reading changes the decision, else None.

        None: nothing flows to measure the link with (a paused viewer whose room sends no
        audio). No sign of trouble either, so a pause ends after the resume hold: the video
        itself probes the link, and a relapse doubles the next hold.
        """
        now = self._clock()
        p = self.policy
        if not self.paused:
            if reading is None or not self._bad(reading):
                self._bad_since = None
                return None
            if self._bad_since is None:
                self._bad_since = now
            if now - self._bad_since < p.pause_after:
                return None
            self.paused = True
            self._bad_since = None
            self._good_since = None
            relapse = self._resumed_at is not None and now - self._resumed_at < p.relapse_window
            self.resume_after = min(self.resume_after * 2, p.max_resume_after) if relapse else p.resume_after
            return PAUSED
        if reading is not None and not self._good(reading):
            self._good_since = None
            return None
        if self._good_since is None:
            self._good_since = now
        if now - self._good_since < self.resume_after:
            return None
        self.paused = False
        self._good_since = None
        self._resumed_at = now
        return RESUMED


class DownlinkMeter:
    """Turns cumulative per-track counters into one `Downlink` reading per call."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, int]] = {}

    def measure(self, tracks: list[tuple[str, float, float | None, int, int]]) -> Downlink | None:
        """tracks: (key, fraction lost 0..1, rtt, packets sent, NACKed packets), cumulative
        counts, for the tracks currently flowing. None when nothing flows."""
        if not tracks:
            self._last.clear()
            return None
        loss = 0.0
        rtts = [rtt for _, _, rtt, _, _ in tracks if rtt is not None]
        sent = nacked = 0
        seen = set()
        for key, fraction, _, packets, nacks in tracks:
            seen.add(key)
            loss = max(loss, fraction)
            before = self._last.get(key)
            if before is not None:
                sent += max(packets - before[0], 0)
                nacked += max(nacks - before[1], 0)
            self._last[key] = (packets, nacks)
        for gone in set(self._last) - seen:
            del self._last[gone]
        nack_rate = min(nacked / sent, 1.0) if sent else 0.0
        return Downlink(loss, max(rtts) if rtts else None, nack_rate)
