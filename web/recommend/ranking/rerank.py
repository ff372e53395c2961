"""Maximal marginal relevance: a varied list, so one mentor (or one topic) does not fill it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Candidate(Generic[T]):
    item: T
    mentor_id: int
    relevance: float


def mmr(candidates: Sequence[Candidate[T]], k: int, lam: float,
        topic_similarity: Callable[[int, int], float] | None = None, topic_weight: float = 0.0) -> list[T]:
    """Pick `k` greedily by lam·relevance - (1 - lam)·(similarity to the closest item already picked).

    Two items of the same mentor are fully similar; other mentors are as similar as their topics, scaled by
    `topic_weight`. Ties keep the candidates' order, so callers sort their tie-breaks in first.
    """
    if not candidates:
        return []
    top = max(abs(c.relevance) for c in candidates) or 1.0
    left = list(candidates)
    # Each candidate's similarity to the closest item picked so far, updated once per pick.
    penalty = [0.0] * len(left)
    chosen: list[Candidate[T]] = []
    while left and len(chosen) < k:
        best_i, best = 0, -float("inf")
        for i, c in enumerate(left):
            value = lam * c.relevance / top - (1 - lam) * penalty[i]
            if value > best + 1e-12:
                best_i, best = i, value
        picked = left.pop(best_i)
        penalty.pop(best_i)
        chosen.append(picked)
        for i, c in enumerate(left):
            if c.mentor_id == picked.mentor_id:
                penalty[i] = 1.0
            elif topic_similarity is not None and topic_weight > 0 and penalty[i] < topic_weight:
                penalty[i] = max(penalty[i], topic_weight * topic_similarity(picked.mentor_id, c.mentor_id))
    return [c.item for c in chosen]
