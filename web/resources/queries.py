"""Who may see a session's resources, and reading them for one session or many."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, Role
from models.tables import Booking, MentorSession, Resource
from web.errors import forbidden, not_found
from web.http.identity import Identity

NOT_FOR_YOU = "Only the mentor and learners who booked this session can see its resources."


async def may_see(s: AsyncSession, mentor_session: MentorSession, identity: Identity) -> bool:
    """The session's mentor, admins, and learners holding a confirmed booking."""
    if identity.user_id == mentor_session.mentor_id or identity.role == Role.ADMIN:
        return True
    if identity.role != Role.LEARNER:
        return False
    found = (await s.exec(select(Booking.id).where(  # type: ignore[call-overload]
        col(Booking.session_id) == mentor_session.id, col(Booking.learner_id) == identity.user_id,
        col(Booking.status) == BookingStatus.CONFIRMED,
    ))).first()
    return found is not None


def may_manage(mentor_session: MentorSession, identity: Identity) -> bool:
    """Uploading and deleting: the session's mentor, or an admin."""
    return identity.user_id == mentor_session.mentor_id or identity.role == Role.ADMIN


async def session_of(s: AsyncSession, session_id: int) -> MentorSession:
    row = await s.get(MentorSession, session_id)
    if row is None:
        raise not_found("No such session.")
    return row


async def resources_of(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, list[Resource]]:
    """Each session's resources, oldest first (the order the mentor shared them)."""
    if not session_ids:
        return {}
    rows = await s.exec(select(Resource).where(col(Resource.session_id).in_(session_ids))
                        .order_by(col(Resource.created_at), col(Resource.id)))
    found: dict[int, list[Resource]] = {}
    for row in rows.all():
        found.setdefault(row.session_id, []).append(row)
    return found


async def visible_resource(s: AsyncSession, resource_id: int, identity: Identity) -> Resource:
    """The resource, 404 when unknown, 403 for anyone outside its session's audience (nothing more said)."""
    row = await s.get(Resource, resource_id)
    if row is None:
        raise not_found("No such resource.")
    mentor_session = await session_of(s, row.session_id)
    if not await may_see(s, mentor_session, identity):
        raise forbidden("You are not allowed to download this file.")
    return row
