"""Who may subscribe to which channel (ARCHITECTURE §6).

| channel                   | allowed                                               |
| ------------------------- | ----------------------------------------------------- |
| `requests:{mentor_id}`    | that mentor                                           |
| `responses:{learner_id}`  | that learner                                          |
| `notifications:{user_id}` | that user                                             |
| `sessions:{session_id}`   | the session's mentor, learners with a confirmed booking |
| `sessions:{room_code}`    | same, the session looked up by its room code          |

Admins may subscribe to every well-formed channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from models.db import Database
from models.enums import BookingStatus, Role
from models.tables import Booking, MentorSession
from web.http.identity import Identity

_PERSONAL = {"requests", "responses", "notifications"}
_ROOM_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class ChannelName:
    kind: str
    key: str

    @property
    def numeric_key(self) -> int | None:
        return int(self.key) if _is_number(self.key) else None


def _is_number(key: str) -> bool:
    # str.isdigit() is also true for "²" or "١٢", which int() refuses or reads as another channel's id.
    return key.isascii() and key.isdigit()


def parse_channel(channel: str) -> ChannelName | None:
    """The channel's kind and key, or None when it is not a channel the platform has."""
    kind, sep, key = channel.partition(":")
    if not sep or not key:
        return None
    if kind in _PERSONAL:
        return ChannelName(kind, key) if _is_number(key) and len(key) <= 18 else None
    if kind == "sessions":
        return ChannelName(kind, key) if _ROOM_CODE.fullmatch(key) else None
    return None


async def can_subscribe(db: Database, identity: Identity, channel: str) -> bool:
    """True when `identity` may receive `channel`'s events; False for unknown channels too."""
    name = parse_channel(channel)
    if name is None:
        return False
    if identity.role == Role.ADMIN:
        return True
    if name.kind in _PERSONAL:
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
