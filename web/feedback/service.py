"""Giving and changing feedback, and keeping the mentor's rating totals in step with it.

The mentor's average is `rating_sum / rating_count` on MentorProfile, changed only by relative
UPDATEs in the same transaction as the feedback row, so concurrent ratings of one mentor never
overwrite each other's share.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import Clock
from models.db import Database
from models.enums import Role, SessionStatus
from models.tables import Feedback, MentorProfile, MentorSession
from web.errors import conflict, forbidden, not_found
from web.feedback.queries import confirmed_booking, own_feedback
from web.feedback.schemas import FeedbackInput, is_editable
from web.http.identity import Identity

NOT_YOURS = "Only learners who booked this session can rate it."
# A concurrent submission by the same learner (a double click) changes the row under us: read it again.
ATTEMPTS = 3


@dataclass(frozen=True)
class Submitted:
    feedback: Feedback
    created: bool


async def submit_feedback(db: Database, clock: Clock, identity: Identity, session_id: int,
                          form: FeedbackInput) -> Submitted:
    if identity.role != Role.LEARNER:
        raise forbidden(NOT_YOURS)
    for _ in range(ATTEMPTS):
        async with db.session() as s:
            mentor_session = await s.get(MentorSession, session_id)
            if mentor_session is None:
                raise not_found("No such session.")
            if not await confirmed_booking(s, session_id, identity.user_id):
                raise forbidden(NOT_YOURS)
            if mentor_session.status != SessionStatus.ENDED:
                raise conflict("You can rate this session once it has ended.")
            existing = await own_feedback(s, session_id, identity.user_id)
            try:
                if existing is None:
                    row = await _create(s, clock, mentor_session, identity.user_id, form)
                    created = True
                else:
                    changed = await _edit(s, clock, mentor_session, existing, form)
                    if changed is None:
                        continue
                    row, created = changed, False
                await s.commit()
            except IntegrityError:
                # Another request created this learner's feedback first: edit that one instead.
                await s.rollback()
                continue
            await s.refresh(row)
            return Submitted(row, created)
    raise conflict("Your feedback changed meanwhile. Reload and try again.")


async def _create(s: AsyncSession, clock: Clock, mentor_session: MentorSession, learner_id: int,
                  form: FeedbackInput) -> Feedback:
    now = clock.now()
    assert mentor_session.id is not None
    row = Feedback(session_id=mentor_session.id, learner_id=learner_id, rating=form.rating, comment=form.comment,
                   created_at=now, updated_at=now)
    s.add(row)
    await s.flush()
    await _add_to_mentor(s, mentor_session.mentor_id, rating_delta=form.rating, count_delta=1)
    return row


async def _edit(s: AsyncSession, clock: Clock, mentor_session: MentorSession, existing: Feedback,
                form: FeedbackInput) -> Feedback | None:
    """The edited row, or None when a concurrent edit moved the rating first (the caller reads again)."""
    now = clock.now()
    if not is_editable(existing, now):
        raise conflict("Feedback can be changed for 7 days after you gave it; this one can no longer change.")
    old = existing.rating
    result = await s.execute(
        update(Feedback)
        .where(col(Feedback.id) == existing.id, col(Feedback.rating) == old)
        .values(rating=form.rating, comment=form.comment, updated_at=now)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        await s.rollback()
        return None
    if form.rating != old:
        await _add_to_mentor(s, mentor_session.mentor_id, rating_delta=form.rating - old, count_delta=0)
    return existing


async def _add_to_mentor(s: AsyncSession, mentor_id: int, *, rating_delta: int, count_delta: int) -> None:
    await s.execute(
        update(MentorProfile)
        .where(col(MentorProfile.user_id) == mentor_id)
        .values(rating_sum=MentorProfile.rating_sum + rating_delta,
                rating_count=MentorProfile.rating_count + count_delta)
    )
