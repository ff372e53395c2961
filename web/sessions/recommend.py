"""Recommended sessions for a learner.

`recommend(learner, sessions)` is the one seam a learned ranking model will replace; until
then it ranks by how many of the learner's interests a session's domain tags share, then by
the mentor's average rating, then by the earliest start.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.clock import as_utc
from models.tables import LearnerProfile
from web.accounts.schemas import mentor_rating
from web.sessions.schemas import SessionView


def interest_overlap(interests: Sequence[str], tags: Sequence[str]) -> int:
    wanted = {" ".join(x.lower().split()) for x in interests}
    return len(wanted & {" ".join(t.lower().split()) for t in tags})


def recommend(learner: LearnerProfile | None, sessions: Sequence[SessionView]) -> list[SessionView]:
    interests = learner.interests if learner is not None else []

    def rank(view: SessionView) -> tuple[int, float, float, int]:
        rating = mentor_rating(view.mentor_profile)
        return (
            -interest_overlap(interests, view.session.domain_tags),
            # Unrated mentors sort after every rated one: a rating is evidence, its absence is not.
            -(rating if rating is not None else -1.0),
            as_utc(view.session.start_at).timestamp(),
            view.session.id or 0,
        )

    return sorted(sessions, key=rank)
