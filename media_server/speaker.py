"""The active speaker: who is talking, decided from the audio levels the publishers send.

Browsers (and aiortc) put each audio packet's level in the `ssrc-audio-level` header
extension (RFC 6464: 0 is the loudest, 127 is silence, in -dBov). The receiver hook keeps
the loudest level per microphone between two ticks of the room's speaker timer; each tick
hands those levels to `ActiveSpeaker.update`, which decides without flicker:

- loudness is how far a level is above the threshold (quieter counts as 0, so background
  noise and silence never make a speaker);
- each participant's loudness is smoothed (exponential average), so one click or cough
  does not take the floor;
- the speaker keeps the floor while it was active within `hold` seconds, and another
  participant takes it only after `hold` and only when clearly louder (`margin` dB);
- a participant missing from the levels (muted, unpublished, gone) loses the floor at once;
  with nobody active for `hold`, the speaker is None.

Pure: no clock of its own, no I/O; the room calls it and announces changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


class ActiveSpeaker:
    def __init__(
        self,
        threshold: int,
        hold: float,
        *,
        smoothing: float = 0.3,
        min_score: float = 12.0,
        margin: float = 3.0,
    ) -> None:
        self.threshold = threshold
        self.hold = hold
        self.smoothing = smoothing
        self.min_score = min_score
        self.margin = margin
        self.current: str | None = None
        self._scores: dict[str, float] = {}
        self._active_at: dict[str, float] = {}
        self._since = -math.inf

    def score(self, participant_id: str) -> float:
        return self._scores.get(participant_id, 0.0)

    def update(self, now: float, levels: Mapping[str, int]) -> bool:
        """Levels: participant id -> loudest level since the last tick, for unmuted
        microphones only. True when the speaker changed (read it from `current`)."""
        for gone in [pid for pid in self._scores if pid not in levels]:
            del self._scores[gone]
            self._active_at.pop(gone, None)
        for pid, level in levels.items():
            loudness = max(0, self.threshold - level)
            score = self._scores.get(pid, 0.0)
            score += self.smoothing * (loudness - score)
            self._scores[pid] = score
            if score >= self.min_score:
                self._active_at[pid] = now
        active = [pid for pid, score in self._scores.items() if score >= self.min_score]
        best = max(active, key=self._scores.__getitem__, default=None)
        current = self.current
        if current is not None and now - self._active_at.get(current, -math.inf) < self.hold:
            # Still speaking (or in a pause shorter than the hold): only a clearly louder
            # voice, after the hold, takes the floor.
            if best is None or best == current or now - self._since < self.hold:
                return False
            if self._scores[best] < self._scores[current] + self.margin:
                return False
        if best == current:
            return False
        self.current = best
        self._since = now
        return True

    def reset(self) -> bool:
        """Forget everyone (fewer than two microphones left); True if there was a speaker."""
        had = self.current is not None
        self.current = None
        self._scores.clear()
        self._active_at.clear()
        self._since = -math.inf
        return had
