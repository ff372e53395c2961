"""One learner's list: model scores per mentor, inherited by the mentor's items, then MMR for variety."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from sklearn.preprocessing import normalize

from web.recommend.ranking.data import LearnerDoc, MentorDoc
from web.recommend.ranking.model import Model
from web.recommend.ranking.reasons import Reason
from web.recommend.ranking.rerank import Candidate, mmr

T = TypeVar("T")


@dataclass(frozen=True)
class Pick(Generic[T]):
    item: T
    score: float
    reason: Reason


def rank_items(model: Model, learner: LearnerDoc, mentors: Sequence[MentorDoc], items: Sequence[T],
               mentor_of: Callable[[T], int], now: float, k: int,
               bonus: Callable[[T], float] | None = None) -> list[Pick[T]]:
    """The top `k` of `items` (sessions, or mentors themselves) for `learner`.

    `items` come in their tie-break order; `bonus` adds a small per-item term (a session's own tags) so a
    mentor's better-matching session comes before the mentor's others.
    """
    scored = {s.mentor_id: s for s in model.score(learner, mentors, now)}
    candidates = [
        Candidate(item, mentor_of(item), scored[mentor_of(item)].score + (bonus(item) if bonus else 0.0))
        for item in items if mentor_of(item) in scored
    ]
    candidates.sort(key=lambda c: -c.relevance)  # stable: the callers' order breaks ties
    pool = candidates[: max(k * 5, 50)]
    similarity = _topic_similarity(model, mentors, [c.mentor_id for c in pool])
    chosen = mmr(pool, k, model.params.mmr_lambda, similarity, model.params.mmr_topic)
    by_item = {id(c.item): c for c in pool}
    return [Pick(item, by_item[id(item)].relevance, scored[mentor_of(item)].reason) for item in chosen]


def _topic_similarity(model: Model, mentors: Sequence[MentorDoc],
                      mentor_ids: list[int]) -> Callable[[int, int], float]:
    wanted = list(dict.fromkeys(mentor_ids))
    docs = {m.id: m for m in mentors}
    rows = [model.mentor_row.get(i) for i in wanted]
    if any(r is None for r in rows):
        vectors = model.vectorizer.transform([" ".join([*docs[i].expertise, docs[i].text]) for i in wanted])
        vectors = normalize(vectors)
    else:
        vectors = model.mentor_vectors[rows]
    dense = np.asarray((vectors @ vectors.T).todense())
    at = {mentor_id: i for i, mentor_id in enumerate(wanted)}
    return lambda a, b: float(dense[at[a], at[b]])
