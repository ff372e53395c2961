"""What one window of a recording holds, read from the JSON the segments table keeps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Observers watch; they are not in the picture.
NOT_SHOWN = frozenset({"admin"})


@dataclass(frozen=True)
class TrackPart:
    path: Path
    participant_id: str
    user_id: str
    source: str  # camera | microphone | screen
    kind: str  # audio | video
    first: float  # seconds on the run's timeline
    last: float


@dataclass(frozen=True)
class Person:
    participant_id: str
    user_id: str
    name: str
    role: str
    joined: float
    left: float | None

    def present_at(self, t: float) -> bool:
        return self.joined <= t and (self.left is None or t < self.left)


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    tracks: list[TrackPart]
    people: list[Person]

    @property
    def length(self) -> float:
        return max(0.0, self.end - self.start)

    def shown_at(self, t: float) -> list[Person]:
        """Who is in the picture at `t`: the mentor first, then everyone else in order of arrival."""
        here = [p for p in self.people if p.role not in NOT_SHOWN and p.present_at(t)]
        # A participant who sends media is in the picture even if their arrival was missed.
        return sorted(here, key=lambda p: (p.role != "mentor", p.joined, p.participant_id))


def window_from_json(start: float, end: float, files: list[dict[str, Any]], presence: list[dict[str, Any]],
                     base: Path) -> Window:
    tracks = [
        TrackPart(path=base / f["path"], participant_id=f["participant_id"], user_id=f["user_id"],
                  source=f["source"], kind=f["kind"], first=float(f["first"]), last=float(f["last"]))
        for f in files
    ]
    people = [
        Person(participant_id=p["participant_id"], user_id=p["user_id"], name=p["name"], role=p["role"],
               joined=float(p["joined"]), left=None if p.get("left") is None else float(p["left"]))
        for p in presence
    ]
    known = {p.participant_id for p in people}
    for track in tracks:
        # Media from someone the presence list missed still belongs in the picture.
        if track.participant_id not in known:
            known.add(track.participant_id)
            people.append(Person(track.participant_id, track.user_id, "", "learner", track.first, track.last + 1))
    return Window(start, end, tracks, people)
