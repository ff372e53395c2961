"""Who may subscribe to which channel (ARCHITECTURE §6).

| channel                   | allowed                                               |
| ------------------------- | ----------------------------------------------------- |
| `requests:{mentor_id}`    | that mentor                                           |
| `responses:{learner_id}`  | that learner                                          |
| `notifications:{user_id}` | that user                                             |
| `sessions:{session_id}`   | the session's mentor, learners with a confirmed booking |
| `sessions:{room_code}`    | same, the session looked up by its room code          |

Admins may subscribe to every well-formed channel. Names are parsed by web.realtime.channels.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from models.db import Database
from models.enums import BookingStatus, Role
from models.tables import Booking, MentorSession
from web.http.identity import Identity
from web.realtime.channels import ChannelName, parse_channel


async def can_subscribe(db: Database, identity: Identity, channel: str) -> bool:
    """True when `identity` may receive `channel`'s events; False for unknown channels too."""
    name = parse_channel(channel)
    if name is None:
        return False
    if identity.role == Role.ADMIN:
        return True
    if name.personal:
        return name.numeric_key == identity.user_id
    return await _may_follow_session(db, identity.user_id, name)


async def _may_follow_session(db: Database, user_id: int, name: ChannelName) -> bool:
    session_id = name.numeric_key
    lookup = col(MentorSession.id) == session_id if session_id is not None else col(MentorSession.room_code) == name.key
    async with db.session() as session:
        found = (
            await session.execute(select(col(MentorSession.id), col(MentorSession.mentor_id)).where(lookup))
        ).first()
        if found is None:
            return False
        if found.mentor_id == user_id:
            return True
        booking = await session.execute(
            select(col(Booking.id))
            .where(
                col(Booking.session_id) == found.id,
                col(Booking.learner_id) == user_id,
                col(Booking.status) == BookingStatus.CONFIRMED,
            )
            .limit(1)
        )
        return booking.first() is not None
