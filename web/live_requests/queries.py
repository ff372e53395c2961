"""Reading live requests and the people they name."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import LiveRequest, MentorSession, User

LIST_LIMIT = 100


async def users_by_id(s: AsyncSession, *ids: int) -> dict[int, User]:
    rows = await s.exec(select(User).where(col(User.id).in_(ids)))
    return {u.id: u for u in rows.all() if u.id is not None}


async def requests_of(s: AsyncSession, user_id: int, *, as_mentor: bool) -> tuple[list[LiveRequest], dict[int, User]]:
    """A mentor's received or a learner's sent requests, newest first, with everyone they name."""
    owner = col(LiveRequest.mentor_id) if as_mentor else col(LiveRequest.learner_id)
    rows = list((await s.exec(
        select(LiveRequest).where(owner == user_id)
        .order_by(col(LiveRequest.created_at).desc(), col(LiveRequest.id).desc()).limit(LIST_LIMIT)
    )).all())
    users = await users_by_id(s, *{r.learner_id for r in rows}, *{r.mentor_id for r in rows}) if rows else {}
    return rows, users


async def scheduled_sessions(s: AsyncSession, request_ids: list[int]) -> dict[int, MentorSession]:
    """The session each scheduled request became, by request id."""
    if not request_ids:
        return {}
    rows = await s.exec(select(MentorSession).where(col(MentorSession.live_request_id).in_(request_ids)))
    return {row.live_request_id: row for row in rows.all() if row.live_request_id is not None}
