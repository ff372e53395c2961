"""Reads for the recommender: a learner's and mentors' records, and the whole training set."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import Role
from models.tables import Booking, Feedback, LearnerProfile, MentorProfile, MentorSession, RecEvent, User
from web.recommend.ranking.data import (
    ATTEND,
    BOOK,
    CANCEL,
    OPEN,
    RATE,
    VIEW,
    Dataset,
    Event,
    LearnerDoc,
    MentorDoc,
)
from web.sessions.schemas import SessionView

SESSION_TEXTS = 20  # a mentor's newest sessions that describe them


def learner_doc(user_id: int, profile: LearnerProfile | None) -> LearnerDoc:
    if profile is None:
        return LearnerDoc(user_id)
    return LearnerDoc(user_id, tuple(profile.interests), profile.goals)


def mentor_text(profile: MentorProfile | None, sessions: Sequence[MentorSession]) -> str:
    parts = [profile.headline, profile.bio] if profile is not None else []
    for x in sessions[:SESSION_TEXTS]:
        parts += [x.title, " ".join(x.domain_tags), x.description]
    return " ".join(p for p in parts if p)


def mentor_docs_of(views: Sequence[SessionView]) -> list[MentorDoc]:
    """Mentors of the candidate sessions, described by their profile and these sessions."""
    sessions: dict[int, list[MentorSession]] = defaultdict(list)
    first: dict[int, SessionView] = {}
    for view in views:
        sessions[view.mentor.id or 0].append(view.session)
        first.setdefault(view.mentor.id or 0, view)
    docs = []
    for mentor_id, view in first.items():
        profile = view.mentor_profile
        expertise = tuple(profile.expertise) if profile is not None else ()
        rating = profile.rating_sum / profile.rating_count if profile is not None and profile.rating_count else None
        docs.append(MentorDoc(mentor_id, expertise, mentor_text(profile, sessions[mentor_id]),
                              view.mentor.created_at.timestamp(), rating))
    return docs


async def load_dataset(s: AsyncSession, now: datetime) -> Dataset:
    """Everything training needs, as of `now`: bookings, attendance and ratings from their own tables,
    opens and views from the recommendation log."""
    mentors = (await s.exec(select(User).where(col(User.role) == Role.MENTOR))).all()
    profiles = {p.user_id: p for p in (await s.exec(select(MentorProfile))).all()}
    by_mentor: dict[int, list[MentorSession]] = defaultdict(list)
    session_mentor: dict[int, int] = {}
    for x in (await s.exec(select(MentorSession).order_by(col(MentorSession.start_at).desc()))).all():
        by_mentor[x.mentor_id].append(x)
        session_mentor[x.id or 0] = x.mentor_id
    mentor_docs = []
    for user in mentors:
        profile = profiles.get(user.id or 0)
        rating = profile.rating_sum / profile.rating_count if profile is not None and profile.rating_count else None
        mentor_docs.append(MentorDoc(user.id or 0, tuple(profile.expertise) if profile else (),
                                     mentor_text(profile, by_mentor[user.id or 0]), user.created_at.timestamp(),
                                     rating))
    learners = [learner_doc(p.user_id, p) for p in (await s.exec(select(LearnerProfile))).all()]

    events: list[Event] = []
    for b in (await s.exec(select(Booking))).all():
        mentor = session_mentor.get(b.session_id)
        if mentor is None:
            continue
        if b.confirmed_at is not None:
            events.append(Event(b.learner_id, mentor, BOOK, b.confirmed_at.timestamp()))
        if b.attended_at is not None:
            events.append(Event(b.learner_id, mentor, ATTEND, b.attended_at.timestamp()))
        if b.cancelled_at is not None and b.confirmed_at is not None:
            events.append(Event(b.learner_id, mentor, CANCEL, b.cancelled_at.timestamp()))
    for f in (await s.exec(select(Feedback))).all():
        mentor = session_mentor.get(f.session_id)
        if mentor is not None:
            events.append(Event(f.learner_id, mentor, RATE, f.created_at.timestamp(), f.rating))
    # The log's "book" is a click on a recommended card: the booking table already says it, so only opens
    # and views are taken from here.
    logged = (await s.exec(select(RecEvent).where(col(RecEvent.kind).in_([OPEN, VIEW])))).all()
    for e in logged:
        mentor = e.mentor_id or session_mentor.get(e.session_id or 0)
        if mentor is not None:
            events.append(Event(e.learner_id, mentor, e.kind, e.at.timestamp(), e.rating))
    cutoff = now.timestamp()
    return Dataset(mentor_docs, learners, sorted((e for e in events if e.at <= cutoff), key=lambda e: e.at))
