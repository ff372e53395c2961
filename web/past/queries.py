"""The Past tab of each dashboard: the `mine?tab=past` sessions, each with what came after it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import iso_utc
from models.enums import BookingStatus, Role, SessionStatus
from models.tables import Booking
from web.feedback.queries import feedback_with_names, own_feedback_for
from web.feedback.schemas import editable_until, is_editable, mentor_feedback_json, own_feedback_json, summary_json
from web.http.identity import Identity
from web.resources.queries import resources_of
from web.resources.schemas import resource_json
from web.sessions.schemas import SessionView


async def attended_counts(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = await s.execute(
        select(col(Booking.session_id), func.count())
        .where(col(Booking.session_id).in_(session_ids), col(Booking.status) == BookingStatus.CONFIRMED,
               col(Booking.attended_at).is_not(None))
        .group_by(col(Booking.session_id))
    )
    return {int(session_id): int(count) for session_id, count in rows.all()}


async def attended_by(s: AsyncSession, learner_id: int, session_ids: Sequence[int]) -> set[int]:
    if not session_ids:
        return set()
    rows = await s.execute(select(col(Booking.session_id)).where(
        col(Booking.learner_id) == learner_id, col(Booking.session_id).in_(session_ids),
        col(Booking.attended_at).is_not(None)))
    return {int(session_id) for session_id in rows.scalars().all()}


async def after_for_mentor(s: AsyncSession, views: Sequence[SessionView]) -> dict[int, dict[str, Any]]:
    ids = [view.session.id for view in views if view.session.id is not None]
    feedback = await feedback_with_names(s, ids)
    resources = await resources_of(s, ids)
    attended = await attended_counts(s, ids)
    after: dict[int, dict[str, Any]] = {}
    for view in views:
        sid = view.session.id or 0
        given = feedback.get(sid, [])
        after[sid] = {
            "booked": view.confirmed_bookings,
            "attended": attended.get(sid, 0),
            "rating": summary_json([row.rating for row, _ in given]),
            "feedback": [mentor_feedback_json(row, name) for row, name in given],
            "resources": [resource_json(row) for row in resources.get(sid, [])],
        }
    return after


async def after_for_learner(s: AsyncSession, views: Sequence[SessionView], learner_id: int,
                            now: datetime) -> dict[int, dict[str, Any]]:
    # Resources and rating belong to a held seat: a refunded or cancelled booking sees neither.
    seated = [view.session.id for view in views
              if view.session.id is not None and view.viewer_booking == BookingStatus.CONFIRMED]
    mine = await own_feedback_for(s, seated, learner_id)
    resources = await resources_of(s, seated)
    attended = await attended_by(s, learner_id, seated)
    after: dict[int, dict[str, Any]] = {}
    for view in views:
        sid = view.session.id or 0
        feedback = mine.get(sid)
        may_rate = sid in seated and view.session.status == SessionStatus.ENDED
        after[sid] = {
            "attended": sid in attended,
            "resources": [resource_json(row) for row in resources.get(sid, [])],
            "feedback": own_feedback_json(feedback) if feedback else None,
            "editable_until": iso_utc(editable_until(feedback)) if feedback else None,
            "can_rate": may_rate and (feedback is None or is_editable(feedback, now)),
        }
    return after


async def after_the_end(s: AsyncSession, views: Sequence[SessionView], identity: Identity,
                        now: datetime) -> dict[int, dict[str, Any]]:
    if identity.role == Role.MENTOR:
        return await after_for_mentor(s, views)
    return await after_for_learner(s, views, identity.user_id, now)
