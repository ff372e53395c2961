"""Reading feedback: one learner's, a session's with the learners' names, and for many sessions at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import iso_utc
from models.enums import BookingStatus, Role, SessionStatus
from models.tables import Booking, Feedback, MentorSession, User
from web.errors import forbidden
from web.feedback.schemas import editable_until, is_editable, mentor_feedback_json, own_feedback_json, summary_json
from web.http.identity import Identity


async def own_feedback(s: AsyncSession, session_id: int, learner_id: int) -> Feedback | None:
    return (await s.exec(select(Feedback).where(
        col(Feedback.session_id) == session_id, col(Feedback.learner_id) == learner_id))).first()


async def own_feedback_for(s: AsyncSession, session_ids: Sequence[int], learner_id: int) -> dict[int, Feedback]:
    if not session_ids:
        return {}
    rows = await s.exec(select(Feedback).where(
        col(Feedback.session_id).in_(session_ids), col(Feedback.learner_id) == learner_id))
    return {row.session_id: row for row in rows.all()}


async def feedback_with_names(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, list[tuple[Feedback, str]]]:
    """Every session's feedback, newest first, each with its learner's name."""
    if not session_ids:
        return {}
    rows = await s.exec(
        select(Feedback, User.name)  # type: ignore[call-overload]
        .join(User, col(User.id) == col(Feedback.learner_id))
        .where(col(Feedback.session_id).in_(session_ids))
        .order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
    )
    found: dict[int, list[tuple[Feedback, str]]] = {}
    for row, name in rows.all():
        found.setdefault(row.session_id, []).append((row, str(name)))
    return found


async def confirmed_booking(s: AsyncSession, session_id: int, learner_id: int) -> bool:
    found = (await s.exec(select(Booking.id).where(  # type: ignore[call-overload]
        col(Booking.session_id) == session_id, col(Booking.learner_id) == learner_id,
        col(Booking.status) == BookingStatus.CONFIRMED,
    ))).first()
    return found is not None


async def feedback_for_viewer(s: AsyncSession, mentor_session: MentorSession, identity: Identity,
                              now: datetime) -> dict[str, Any]:
    """GET /api/sessions/{id}/feedback: every rating for its mentor and admins, their own for a booked learner."""
    assert mentor_session.id is not None
    session_id = mentor_session.id
    if identity.user_id == mentor_session.mentor_id or identity.role == Role.ADMIN:
        given = (await feedback_with_names(s, [session_id])).get(session_id, [])
        return {
            **summary_json([row.rating for row, _ in given]),
            "feedback": [mentor_feedback_json(row, name) for row, name in given],
        }
    if identity.role != Role.LEARNER or not await confirmed_booking(s, session_id, identity.user_id):
        raise forbidden("Only the mentor and learners who booked this session can see its feedback.")
    mine = await own_feedback(s, session_id, identity.user_id)
    ended = mentor_session.status == SessionStatus.ENDED
    return {
        "feedback": own_feedback_json(mine) if mine else None,
        "editable_until": iso_utc(editable_until(mine)) if mine else None,
        "can_submit": ended and (mine is None or is_editable(mine, now)),
    }


async def recent_comments(s: AsyncSession, mentor_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """The newest written comments on a mentor's sessions, for their public page: rating, words, the
    learner's first name and the session's title (no more of the learner than that)."""
    rows = await s.exec(
        select(Feedback, User.name, MentorSession.title)  # type: ignore[call-overload]
        .join(MentorSession, col(MentorSession.id) == col(Feedback.session_id))
        .join(User, col(User.id) == col(Feedback.learner_id))
        .where(col(MentorSession.mentor_id) == mentor_id, col(Feedback.comment) != "")
        .order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
        .limit(limit)
    )
    return [
        {"rating": row.rating, "comment": row.comment, "learner_name": (str(name).split() or [""])[0],
         "session_title": str(title), "created_at": iso_utc(row.created_at)}
        for row, name, title in rows.all()
    ]
