"""The on-disk format of a recommender world: one gzipped JSON file, columns as lists.

The committed synthetic fixture and a real database's export (`bench.recsys.export`) share it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from web.recommend.ranking.data import Dataset, Event, LearnerDoc, MentorDoc

KINDS = ("view", "open", "book", "attend", "rate", "cancel")


def dump(data: Dataset, path: Path, meta: dict[str, Any] | None = None) -> None:
    origin = min((e.at for e in data.events), default=0.0)
    body = {
        "meta": meta or {},
        "origin": origin,
        "mentors": [[m.id, list(m.expertise), m.text, round(m.joined_at - origin), m.rating] for m in data.mentors],
        "learners": [[x.id, list(x.interests), x.goals] for x in data.learners],
        # learner, mentor, kind index, seconds since origin, rating (0 for none)
        "events": [[e.learner_id, e.mentor_id, KINDS.index(e.kind), round(e.at - origin), e.rating or 0]
                   for e in data.events],
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def load(path: Path) -> tuple[Dataset, dict[str, Any]]:
    body = json.loads(gzip.decompress(path.read_bytes()))
    origin = float(body["origin"])
    data = Dataset(
        mentors=[MentorDoc(int(i), tuple(tags), text, origin + joined, rating)
                 for i, tags, text, joined, rating in body["mentors"]],
        learners=[LearnerDoc(int(i), tuple(tags), goals) for i, tags, goals in body["learners"]],
        events=[Event(int(lr), int(m), KINDS[k], origin + at, rating or None)
                for lr, m, k, at, rating in body["events"]],
    )
    return data, dict(body["meta"])
