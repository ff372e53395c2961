"""A trained recommender: per-mentor scores for one learner, each with the reason it was chosen.

Scores are per mentor; a mentor's sessions inherit them (`web.recommend.service`). Everything here reads
arrays the training built, so scoring a learner's tab is a handful of vector products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from web.recommend.ranking.data import DAY, LearnerDoc, MentorDoc, norm_tag
from web.recommend.ranking.params import Params
from web.recommend.ranking.reasons import Reason

# The reasons, by the part of the score that chose the item.
CONTENT, COLLABORATIVE, POPULAR, NEW = "content", "collaborative", "popular", "new"


@dataclass(frozen=True)
class Scored:
    mentor_id: int
    score: float
    reason: Reason


@dataclass
class Model:
    version: str
    trained_at: float
    params: Params
    vectorizer: TfidfVectorizer
    mentor_ids: list[int]
    mentor_vectors: sparse.csr_matrix  # TF-IDF rows, L2-normalised
    mentor_expertise: list[tuple[str, ...]]
    mentor_joined: dict[int, float]
    popularity: np.ndarray  # in [0, 1], log-scaled decayed interaction weight
    mentor_weight: np.ndarray  # all-time interaction weight (how "seen" a mentor already is)
    learner_index: dict[int, int]
    learner_factors: np.ndarray
    mentor_factors: np.ndarray
    learner_strength: dict[int, float]  # bookings and attendances so far
    learner_history: dict[int, list[int]]  # rows of mentors the learner booked or attended
    # Per stated interest: popularity among the learners who state it (what cold learners get first).
    segment_popularity: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mentor_row = {mentor_id: row for row, mentor_id in enumerate(self.mentor_ids)}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.mentor_row = {mentor_id: row for row, mentor_id in enumerate(self.mentor_ids)}

    def score(self, learner: LearnerDoc, candidates: Sequence[MentorDoc], now: float) -> list[Scored]:
        """Every candidate mentor's score and reason for `learner`, in the candidates' order."""
        if not candidates:
            return []
        p = self.params
        rows = [self.mentor_row.get(m.id) for m in candidates]
        vectors = self._candidate_vectors(candidates, rows)
        interests = [norm_tag(x) for x in learner.interests if norm_tag(x)]
        strength = self.learner_strength.get(learner.id, 0.0)

        query = self._learner_query(learner, interests)
        content = np.asarray((vectors @ query.T).todense()).ravel() if query is not None else np.zeros(len(rows))
        popularity = np.array([self.popularity[r] if r is not None else 0.0 for r in rows])
        seen = np.array([self.mentor_weight[r] if r is not None else 0.0 for r in rows])
        domain = np.array([_domain_match(interests, m.expertise) for m in candidates], dtype=float)
        collab = self._collaborative(learner.id, rows)
        share = strength / (strength + p.history_half) if strength > 0 else 0.0
        is_new = np.array([now - m.joined_at <= p.new_mentor_days * DAY for m in candidates]) & (
            seen <= p.new_mentor_max_weight)
        # A new mentor is boosted only where the learner shows an interest: shown to everyone, they would be noise.
        relevant = (domain > 0) | (content > 0.05)

        segment = self._segment(interests, rows)
        parts = {
            CONTENT: p.content * content + (p.domain_match * domain if strength == 0 else 0.0),
            COLLABORATIVE: share * p.collaborative * collab + (1 - share) * p.segment * segment,
            POPULAR: p.popularity * popularity,
            NEW: p.new_mentor_boost * (is_new & relevant),
        }
        total: np.ndarray = np.zeros(len(rows)) + sum(parts.values())
        names = list(parts)
        stacked = np.vstack([np.broadcast_to(parts[n], total.shape) for n in names])
        best = stacked.argmax(axis=0)
        topics = self._topics(interests, vectors, candidates)
        return [
            Scored(m.id, float(total[i]),
                   self._reason(names[best[i]], m, topics[i], learner, strength) if total[i] > 0 else Reason("explore"))
            for i, m in enumerate(candidates)
        ]

    # --- parts -------------------------------------------------------------------------------------------

    def _candidate_vectors(self, candidates: Sequence[MentorDoc], rows: list[int | None]) -> sparse.csr_matrix:
        unknown = [i for i, r in enumerate(rows) if r is None]
        known = self.mentor_vectors[[r if r is not None else 0 for r in rows]]
        if not unknown:
            return known
        # Mentors who joined after training: their texts go through the trained vocabulary now.
        fresh = normalize(self.vectorizer.transform([candidates[i].text for i in unknown]))
        known = known.tolil()
        for j, i in enumerate(unknown):
            known[i] = fresh[j]
        return known.tocsr()

    def _learner_query(self, learner: LearnerDoc, interests: list[str]) -> sparse.csr_matrix | None:
        text = " ".join([*interests, learner.goals])
        query = self.vectorizer.transform([text]) if text.strip() else None
        history = self.learner_history.get(learner.id)
        if history:
            past = sparse.csr_matrix(self.mentor_vectors[history].mean(axis=0)) * self.params.history_text
            query = past if query is None else normalize(query) + past
        if query is None or query.nnz == 0:
            return None
        return normalize(query)

    def _collaborative(self, learner_id: int, rows: list[int | None]) -> np.ndarray:
        index = self.learner_index.get(learner_id)
        if index is None or self.learner_factors.size == 0:
            return np.zeros(len(rows))
        raw = self.mentor_factors @ self.learner_factors[index]
        values = np.array([raw[r] if r is not None else 0.0 for r in rows])
        top = values.max(initial=0.0)
        return np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros(len(rows))

    def _segment(self, interests: list[str], rows: list[int | None]) -> np.ndarray:
        known = [self.segment_popularity[x] for x in interests if x in self.segment_popularity]
        if not known:
            return np.zeros(len(rows))
        mean = np.mean(known, axis=0)
        return np.array([mean[r] if r is not None else 0.0 for r in rows])

    def _topics(self, interests: list[str], vectors: sparse.csr_matrix,
                candidates: Sequence[MentorDoc]) -> list[str | None]:
        """Per candidate: the learner's interest it matches best (tag first, then text)."""
        out: list[str | None] = []
        sims = None
        if interests:
            sims = np.asarray((vectors @ normalize(self.vectorizer.transform(interests)).T).todense())
        for i, m in enumerate(candidates):
            tags = {norm_tag(t) for t in m.expertise}
            hit = next((x for x in interests if x in tags), None)
            if hit is None and sims is not None and sims[i].max() > 0:
                hit = interests[int(sims[i].argmax())]
            out.append(hit)
        return out

    def _reason(self, part: str, mentor: MentorDoc, topic: str | None, learner: LearnerDoc,
                strength: float) -> Reason:
        if part == CONTENT:
            if topic is not None:
                return Reason("interest", topic)
            return Reason("history") if strength > 0 else Reason("popular")
        if part == COLLABORATIVE:
            return Reason("similar_learners")
        if part == NEW:
            return Reason("new_mentor", topic or (mentor.expertise[0] if mentor.expertise else None))
        return Reason("popular", topic)


def _domain_match(interests: list[str], expertise: Sequence[str]) -> float:
    if not interests:
        return 0.0
    return 1.0 if set(interests) & {norm_tag(t) for t in expertise} else 0.0
