"""Sliding weekly splits: train on everything before a week, rank for the learners who booked in it.

Items are mentors (the model scores mentors; a mentor's sessions inherit the score). The truth of a learner
is the set of mentors they booked that week. Warm learners had booked before the week, cold ones had not.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from web.recommend.ranking.baselines import popularity_ranking, random_ranking, tag_overlap
from web.recommend.ranking.data import BOOK, DAY, Dataset, LearnerDoc, MentorDoc, booked_mentors
from web.recommend.ranking.model import Model
from web.recommend.ranking.params import Params
from web.recommend.ranking.rank import rank_items
from web.recommend.ranking.train import train

WEEK = 7 * DAY
K = 10
Ranker = Callable[[LearnerDoc, Sequence[MentorDoc]], list[int]]


@dataclass
class Tally:
    users: int = 0
    recall5: float = 0.0
    recall10: float = 0.0
    ndcg5: float = 0.0
    ndcg10: float = 0.0
    hits: float = 0.0
    shown: set[int] = field(default_factory=set)
    catalogue: int = 0
    slots: int = 0
    new_slots: int = 0

    def add(self, ranked: list[int], truth: set[int], new: set[int]) -> None:
        self.users += 1
        self.recall5 += len(set(ranked[:5]) & truth) / len(truth)
        self.recall10 += len(set(ranked[:10]) & truth) / len(truth)
        self.ndcg5 += ndcg(ranked, truth, 5)
        self.ndcg10 += ndcg(ranked, truth, 10)
        self.hits += 1.0 if set(ranked[:10]) & truth else 0.0
        self.shown.update(ranked[:10])
        self.slots += len(ranked[:10])
        self.new_slots += sum(1 for m in ranked[:10] if m in new)

    def row(self) -> dict[str, float]:
        n = max(self.users, 1)
        return {
            "users": float(self.users), "recall@5": self.recall5 / n, "recall@10": self.recall10 / n,
            "ndcg@5": self.ndcg5 / n, "ndcg@10": self.ndcg10 / n, "hit@10": self.hits / n,
            "coverage": len(self.shown) / max(self.catalogue, 1), "new exposure": self.new_slots / max(self.slots, 1),
        }


def _rankers(past: Dataset, model: Model, at: float, rng: random.Random) -> dict[str, Ranker]:
    def by_model(learner: LearnerDoc, candidates: Sequence[MentorDoc]) -> list[int]:
        return [p.item.id for p in rank_items(model, learner, candidates, candidates, lambda m: m.id, at, K)]

    return {
        "random": lambda _learner, c: random_ranking(c, rng),
        "popularity": lambda _learner, c: popularity_ranking(past, c),
        "tag overlap": tag_overlap,
        "model": by_model,
    }


def ndcg(ranked: list[int], truth: set[int], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, m in enumerate(ranked[:k]) if m in truth)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(truth), k)))
    return dcg / ideal if ideal else 0.0


def evaluate(data: Dataset, start: float, test_weeks: Sequence[int], params: Params | None = None,
             seed: int = 1) -> dict[str, dict[str, dict[str, float]]]:
    """{ranker: {"warm": row, "cold": row}} over the given week numbers (week 0 starts at `start`)."""
    names = ("random", "popularity", "tag overlap", "model")
    tallies = {name: {"warm": Tally(), "cold": Tally()} for name in names}
    learners = {x.id: x for x in data.learners}
    rng = random.Random(seed)
    catalogue: dict[str, set[int]] = {"warm": set(), "cold": set()}
    for week in test_weeks:
        begin, end = start + week * WEEK, start + (week + 1) * WEEK
        past = data.before(begin)
        model = train(past, begin, params)
        candidates = [m for m in data.mentors if m.joined_at < end]
        new = {m.id for m in candidates if begin - m.joined_at <= (params or Params()).new_mentor_days * DAY}
        history = booked_mentors(past.events)
        truth: dict[int, set[int]] = {}
        for e in data.events:
            if e.kind == BOOK and begin <= e.at < end:
                truth.setdefault(e.learner_id, set()).add(e.mentor_id)
        rankers = _rankers(past, model, begin, rng)
        for learner_id, wanted in sorted(truth.items()):
            group = "warm" if learner_id in history else "cold"
            catalogue[group].update(m.id for m in candidates)
            for name, ranker in rankers.items():
                tallies[name][group].add(ranker(learners[learner_id], candidates)[:K], wanted, new)
    for name in names:
        for group in ("warm", "cold"):
            tallies[name][group].catalogue = len(catalogue[group])
    return {name: {group: t.row() for group, t in by_group.items()} for name, by_group in tallies.items()}
