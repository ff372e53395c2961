"""Training: TF-IDF over mentor texts, time-decayed popularity and implicit ALS on weighted interactions."""

from __future__ import annotations

import math
import os
import time
import warnings
from collections import defaultdict

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from web.recommend.ranking.data import ATTEND, BOOK, DAY, Dataset, event_weight, norm_tag
from web.recommend.ranking.model import Model
from web.recommend.ranking.params import Params


def train(data: Dataset, now: float, params: Params | None = None, version: str | None = None) -> Model:
    """A model of what was known at `now` (events after it are ignored)."""
    p = params or Params()
    started = time.perf_counter()
    mentors = sorted(data.mentors, key=lambda m: m.id)
    mentor_ids = [m.id for m in mentors]
    row_of = {mentor_id: row for row, mentor_id in enumerate(mentor_ids)}
    events = [e for e in data.events if e.at <= now and e.mentor_id in row_of]

    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1, max_features=50_000)
    docs = [" ".join([*m.expertise, m.text]) for m in mentors]
    vectors = normalize(vectorizer.fit_transform(docs)) if any(d.strip() for d in docs) else None
    if vectors is None:  # no text anywhere: a vocabulary of nothing still transforms
        vectorizer.fit(["mentor"])
        vectors = sparse.csr_matrix((len(mentors), len(vectorizer.vocabulary_)))

    decay = math.log(2) / (p.popularity_half_life_days * DAY)
    recent = np.zeros(len(mentors))
    total = np.zeros(len(mentors))
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    strength: dict[int, float] = defaultdict(float)
    history: dict[int, set[int]] = defaultdict(set)
    for e in events:
        weight = event_weight(e)
        row = row_of[e.mentor_id]
        recent[row] += weight * math.exp(-decay * (now - e.at))
        total[row] += weight
        pairs[(e.learner_id, row)] += weight
        if e.kind in (BOOK, ATTEND):
            strength[e.learner_id] += 1.0 if e.kind == BOOK else 0.5
            history[e.learner_id].add(row)
    recent = np.log1p(np.clip(recent, 0.0, None))
    popularity = recent / recent.max() if recent.max() > 0 else recent

    segments = _segments(data, pairs, len(mentors), p)
    positive = {k: v for k, v in pairs.items() if v > 0}
    learner_ids = sorted({learner for learner, _ in positive})
    learner_index = {learner: i for i, learner in enumerate(learner_ids)}
    learner_factors, mentor_factors = _als(positive, learner_index, len(mentors), p)

    model = Model(
        version=version or time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)),
        trained_at=now,
        params=p,
        vectorizer=vectorizer,
        mentor_ids=mentor_ids,
        mentor_vectors=vectors.tocsr(),
        mentor_expertise=[m.expertise for m in mentors],
        mentor_joined={m.id: m.joined_at for m in mentors},
        popularity=popularity,
        mentor_weight=total,
        learner_index=learner_index,
        learner_factors=learner_factors,
        mentor_factors=mentor_factors,
        learner_strength=dict(strength),
        learner_history={learner: sorted(rows) for learner, rows in history.items()},
        segment_popularity=segments,
    )
    model.stats = {
        "seconds": time.perf_counter() - started,
        "interactions": float(len(events)),
        "learners": float(len(learner_ids)),
        "mentors": float(len(mentors)),
    }
    return model


def _segments(data: Dataset, pairs: dict[tuple[int, int], float], n_mentors: int,
              p: Params) -> dict[str, np.ndarray]:
    interests = {x.id: {norm_tag(t) for t in x.interests} for x in data.learners}
    sums: dict[str, np.ndarray] = {}
    members: dict[str, set[int]] = defaultdict(set)
    for (learner, row), weight in pairs.items():
        for tag in interests.get(learner, ()):
            if tag not in sums:
                sums[tag] = np.zeros(n_mentors)
            sums[tag][row] += max(weight, 0.0)
            members[tag].add(learner)
    out = {}
    for tag, values in sums.items():
        if len(members[tag]) < p.segment_min_learners:
            continue  # too few learners to speak for everyone who states this interest
        scaled = np.log1p(values)
        out[tag] = scaled / scaled.max() if scaled.max() > 0 else scaled
    return out


def _als(pairs: dict[tuple[int, int], float], learner_index: dict[int, int], n_mentors: int,
         p: Params) -> tuple[np.ndarray, np.ndarray]:
    if not pairs or n_mentors < 2:
        return np.zeros((0, 1), dtype=np.float32), np.zeros((n_mentors, 1), dtype=np.float32)
    learners = np.fromiter((learner_index[learner] for learner, _ in pairs), dtype=np.int32, count=len(pairs))
    mentors = np.fromiter((row for _, row in pairs), dtype=np.int32, count=len(pairs))
    values = np.fromiter((p.confidence * np.log1p(w) for w in pairs.values()), dtype=np.float32, count=len(pairs))
    matrix = sparse.csr_matrix((values, (learners, mentors)), shape=(len(learner_index), n_mentors))
    # One thread, and one BLAS thread under it: the machine is shared and a seed must give one model.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # implicit's "BLAS uses N threads" check: we limit it
        from implicit.cpu.als import AlternatingLeastSquares

        # More factors than half the mentors (or learners) lets every learner be fitted alone: nothing is
        # shared, so nothing is learned about learners like them.
        factors = max(1, min(p.factors, n_mentors // 2, len(learner_index) // 2))
        als = AlternatingLeastSquares(factors=factors, regularization=p.regularization,
                                      iterations=p.iterations, random_state=p.seed, num_threads=1,
                                      calculate_training_loss=False)
        als.fit(matrix, show_progress=False)
    return np.asarray(als.user_factors, dtype=np.float32), np.asarray(als.item_factors, dtype=np.float32)
