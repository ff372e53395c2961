"""What a mentor's public page shows, read in one database session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import Role, SessionStatus
from models.tables import MentorProfile, MentorSession, User
from web.feedback.queries import recent_comments
from web.http.identity import Identity
from web.sessions.queries import build_views
from web.sessions.schemas import SessionView
from web.sessions.timing import end_of

UPCOMING_LIMIT = 20


@dataclass(frozen=True)
class MentorPage:
    mentor: User
    profile: MentorProfile
    upcoming: list[SessionView]
    comments: list[dict[str, Any]]


async def mentor_page(s: AsyncSession, mentor_id: int, viewer: Identity | None, now: datetime) -> MentorPage | None:
    mentor = await s.get(User, mentor_id)
    profile = await s.get(MentorProfile, mentor_id)
    if mentor is None or profile is None or mentor.role != Role.MENTOR:
        return None
    rows = (await s.exec(
        select(MentorSession)
        .where(col(MentorSession.mentor_id) == mentor_id,
               col(MentorSession.status).in_([SessionStatus.SCHEDULED, SessionStatus.LIVE]))
        .order_by(col(MentorSession.start_at), col(MentorSession.id))
        .limit(UPCOMING_LIMIT * 2)
    )).all()
    # A scheduled session whose time passed without going live is no longer on offer.
    current = [row for row in rows if end_of(row) > now][:UPCOMING_LIMIT]
    upcoming = await build_views(s, current, viewer)
    return MentorPage(mentor, profile, upcoming, await recent_comments(s, mentor_id))
