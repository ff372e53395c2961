"""Reads: a session's recording, who may download it, disk usage per mentor."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, RecordingStatus, Role
from models.tables import Booking, MentorSession, Recording, RecordingSegment, User
from web.errors import forbidden, not_found
from web.http.identity import Identity

NOT_YOURS = "Only the session's mentor, an admin, or attendees it is shared with can get this recording."


class Access(StrEnum):
    OWNER = "owner"  # the session's mentor: download, raw tracks, share, retry, delete
    ADMIN = "admin"  # download and raw tracks
    ATTENDEE = "attendee"  # a booked learner, when the mentor shares it: download only


async def access_to(s: AsyncSession, identity: Identity, session: MentorSession) -> Access | None:
    if identity.user_id == session.mentor_id:
        return Access.OWNER
    if identity.role == Role.ADMIN:
        return Access.ADMIN
    if identity.role == Role.LEARNER and session.share_recording:
        booked = (await s.exec(select(Booking.id).where(  # type: ignore[call-overload]
            col(Booking.session_id) == session.id, col(Booking.learner_id) == identity.user_id,
            col(Booking.status) == BookingStatus.CONFIRMED))).first()
        if booked is not None:
            return Access.ATTENDEE
    return None


async def recording_of_session(s: AsyncSession, session_id: int) -> Recording | None:
    return (await s.exec(select(Recording).where(col(Recording.session_id) == session_id))).first()


async def session_and_access(s: AsyncSession, identity: Identity, session_id: int) -> tuple[MentorSession, Access]:
    """The session and how this user may use its recording; 404 without a session, 403 for anyone else."""
    session = await s.get(MentorSession, session_id)
    if session is None:
        raise not_found("No such session.")
    access = await access_to(s, identity, session)
    if access is None:
        raise forbidden(NOT_YOURS)
    return session, access


async def recording_and_access(s: AsyncSession, identity: Identity,
                               recording_id: int) -> tuple[Recording, MentorSession, Access]:
    """403 (the same answer whether or not it exists) for anyone who may not have it."""
    recording = await s.get(Recording, recording_id)
    session = await s.get(MentorSession, recording.session_id) if recording is not None else None
    access = await access_to(s, identity, session) if session is not None else None
    if recording is None or session is None or access is None:
        raise forbidden(NOT_YOURS)
    return recording, session, access


async def segments_of(s: AsyncSession, recording_id: int) -> list[RecordingSegment]:
    rows = (await s.exec(select(RecordingSegment).where(col(RecordingSegment.recording_id) == recording_id))).all()
    return sorted(rows, key=lambda row: (row.run, row.index))


async def usage_by_mentor(s: AsyncSession) -> list[dict[str, Any]]:
    kept = [RecordingStatus.RECORDING, RecordingStatus.PROCESSING, RecordingStatus.READY, RecordingStatus.PARTIAL,
            RecordingStatus.FAILED]
    rows = (await s.exec(
        select(User.id, User.name, User.email, func.count(col(Recording.id)),  # type: ignore[call-overload]
               func.coalesce(func.sum(col(Recording.disk_bytes)), 0))
        .join(MentorSession, col(MentorSession.mentor_id) == col(User.id))
        .join(Recording, col(Recording.session_id) == col(MentorSession.id))
        .where(col(Recording.status).in_(kept))
        .group_by(col(User.id), col(User.name), col(User.email))
    )).all()
    usage = [{"mentor_id": int(uid), "name": name, "email": email, "recordings": int(count), "bytes": int(total)}
             for uid, name, email, count, total in rows]
    return sorted(usage, key=lambda row: -row["bytes"])
