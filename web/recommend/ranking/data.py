"""The records the recommender trains and scores on: mentors, learners and what learners did.

Times are POSIX seconds (floats) so the synthetic world of `bench/recsys`, a real database's export and the
web process share one format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

DAY = 86400.0

# What each interaction says about a learner's taste (issue 15). Impressions are logged but weigh nothing:
# being shown something is not wanting it.
VIEW, OPEN, BOOK, ATTEND, RATE, CANCEL, IMPRESSION = "view", "open", "book", "attend", "rate", "cancel", "impression"
INTERACTIONS = (VIEW, OPEN, BOOK, ATTEND, RATE, CANCEL)
WEIGHTS = {VIEW: 1.0, OPEN: 1.0, BOOK: 5.0, ATTEND: 8.0, RATE: 0.0, CANCEL: -2.0, IMPRESSION: 0.0}
GOOD_RATING_BONUS = 3.0  # a rating of 4 or 5 adds this; lower ratings add nothing


def norm_tag(tag: str) -> str:
    return " ".join(tag.lower().split())


@dataclass(frozen=True)
class MentorDoc:
    id: int
    expertise: tuple[str, ...]
    # Bio, headline and the titles, tags and descriptions of the mentor's sessions.
    text: str
    joined_at: float
    rating: float | None = None


@dataclass(frozen=True)
class LearnerDoc:
    id: int
    interests: tuple[str, ...] = ()
    goals: str = ""


@dataclass(frozen=True)
class Event:
    learner_id: int
    mentor_id: int
    kind: str
    at: float
    rating: int | None = None


def event_weight(event: Event) -> float:
    if event.kind == RATE:
        return GOOD_RATING_BONUS if (event.rating or 0) >= 4 else 0.0
    return WEIGHTS.get(event.kind, 0.0)


@dataclass
class Dataset:
    mentors: list[MentorDoc]
    learners: list[LearnerDoc]
    events: list[Event] = field(default_factory=list)

    def before(self, at: float) -> Dataset:
        """What was known at `at`: mentors who had joined and events that had happened."""
        return Dataset(
            mentors=[m for m in self.mentors if m.joined_at <= at],
            learners=self.learners,
            events=[e for e in self.events if e.at < at],
        )


def booked_mentors(events: Iterable[Event]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for e in events:
        if e.kind == BOOK:
            out.setdefault(e.learner_id, set()).add(e.mentor_id)
    return out
