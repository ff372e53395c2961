"""Feedback JSON shapes, and reading the Rate Your Mentor form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from models.clock import as_utc, iso_utc
from models.tables import Feedback
from web.errors import bad_request
from web.http import fields as v

MAX_COMMENT = 2000
# Editable this long after the first submission; afterwards the rating stands as given.
EDIT_WINDOW = timedelta(days=7)
# Control characters other than tab and newlines have no place in a comment (PostgreSQL refuses NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class FeedbackInput:
    rating: int
    comment: str


def read_feedback(data: dict[str, Any]) -> FeedbackInput:
    rating = v.integer(data, "rating", low=1, high=5)
    comment = v.text(data, "comment", required=False, max_len=MAX_COMMENT)
    if _CONTROL.search(comment):
        raise bad_request("Comment contains characters that are not text.", "comment")
    try:
        comment.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (JSON "\ud800") is valid JSON but no text any database can store.
        raise bad_request("Comment contains characters that are not text.", "comment") from None
    return FeedbackInput(rating=rating, comment=comment.replace("\r\n", "\n"))


def editable_until(row: Feedback) -> datetime:
    return as_utc(row.created_at) + EDIT_WINDOW


def is_editable(row: Feedback, now: datetime) -> bool:
    return now < editable_until(row)


def own_feedback_json(row: Feedback) -> dict[str, Any]:
    """A learner's own feedback, as the Rate Your Mentor form shows it."""
    return {
        "id": row.id,
        "session_id": row.session_id,
        "rating": row.rating,
        "comment": row.comment,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
        "editable_until": iso_utc(editable_until(row)),
    }


def mentor_feedback_json(row: Feedback, learner_name: str) -> dict[str, Any]:
    """One learner's feedback as the session's mentor reads it."""
    return {
        "rating": row.rating,
        "comment": row.comment,
        "learner_name": learner_name,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
    }


def summary_json(ratings: list[int]) -> dict[str, Any]:
    """{"average", "count"} with the average rounded to two places, null while nobody rated."""
    return {"average": round(sum(ratings) / len(ratings), 2) if ratings else None, "count": len(ratings)}
