"""The simple rankings the model must beat (bench/recsys): random, popularity and the old tag overlap."""

from __future__ import annotations

import random
from collections.abc import Sequence

from web.recommend.ranking.data import Dataset, LearnerDoc, MentorDoc, event_weight, norm_tag


def interest_overlap(interests: Sequence[str], tags: Sequence[str]) -> int:
    wanted = {norm_tag(x) for x in interests}
    return len(wanted & {norm_tag(t) for t in tags})


def tag_overlap(learner: LearnerDoc, candidates: Sequence[MentorDoc]) -> list[int]:
    """The ranking the Recommended tab had before issue 15: shared tags, then the mentor's rating."""
    return [m.id for m in sorted(candidates, key=lambda m: (
        -interest_overlap(learner.interests, m.expertise),
        # Unrated mentors sort after every rated one: a rating is evidence, its absence is not.
        -(m.rating if m.rating is not None else -1.0),
        m.id,
    ))]


def popularity_ranking(train: Dataset, candidates: Sequence[MentorDoc]) -> list[int]:
    counts: dict[int, float] = {}
    for e in train.events:
        counts[e.mentor_id] = counts.get(e.mentor_id, 0.0) + event_weight(e)
    return [m.id for m in sorted(candidates, key=lambda m: (-counts.get(m.id, 0.0), m.id))]


def random_ranking(candidates: Sequence[MentorDoc], rng: random.Random) -> list[int]:
    ids = [m.id for m in candidates]
    rng.shuffle(ids)
    return ids
