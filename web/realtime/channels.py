"""Every channel name of ARCHITECTURE §6, built and parsed here and nowhere else.

| channel                   | carries                                                    |
| ------------------------- | ---------------------------------------------------------- |
| `requests:{mentor_id}`    | what a mentor is asked: `new_booking`, `live_request`        |
| `responses:{learner_id}`  | what a learner is answered: `booking_confirmed`, `request_*` |
| `notifications:{user_id}` | stored notifications, event = their kind                    |
| `sessions:{session_id}`   | `new_booking`, `session_updated`, `session_cancelled`        |
| `sessions:{room_code}`    | `session.live`, `learner.join`, `learner.leave`, `session.end`, `quality` |

A room code is never all digits (web.sessions.room_codes), so `sessions:{digits}` always names a
session by id and anything else by its room code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MENTOR = "requests"
LEARNER = "responses"
NOTIFICATIONS = "notifications"
SESSIONS = "sessions"
# Channels that belong to one user, named by that user's id.
PERSONAL = frozenset({MENTOR, LEARNER, NOTIFICATIONS})
_ROOM_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")


def mentor_channel(mentor_id: int) -> str:
    return f"{MENTOR}:{mentor_id}"


def learner_channel(learner_id: int) -> str:
    return f"{LEARNER}:{learner_id}"


def notifications_channel(user_id: int) -> str:
    return f"{NOTIFICATIONS}:{user_id}"


def session_channel(session_id: int) -> str:
    return f"{SESSIONS}:{session_id}"


def room_channel(room_code: str) -> str:
    return f"{SESSIONS}:{room_code}"


@dataclass(frozen=True)
class ChannelName:
    kind: str
    key: str

    @property
    def numeric_key(self) -> int | None:
        return int(self.key) if _is_number(self.key) else None

    @property
    def personal(self) -> bool:
        return self.kind in PERSONAL


def _is_number(key: str) -> bool:
    # str.isdigit() is also true for "²" or "١٢", which int() refuses or reads as another channel's id.
    return key.isascii() and key.isdigit()


def _is_canonical_number(key: str) -> bool:
    # One spelling per id: "05" would be another channel that int() reads as 5 (a second name
    # for the same user's or session's feed that authorization and publishers never use).
    return _is_number(key) and len(key) <= 18 and str(int(key)) == key


def parse_channel(channel: str) -> ChannelName | None:
    """The channel's kind and key, or None when it is not a channel the platform has.

    Only canonical names are channels: ids are ASCII digits without leading zeros, so the
    builders above (`notifications_channel(int(key))`, ...) give back exactly the name parsed.
    """
    kind, sep, key = channel.partition(":")
    if not sep or not key:
        return None
    if kind in PERSONAL:
        return ChannelName(kind, key) if _is_canonical_number(key) else None
    if kind == SESSIONS:
        if _is_number(key):
            return ChannelName(kind, key) if _is_canonical_number(key) else None
        return ChannelName(kind, key) if _ROOM_CODE.fullmatch(key) else None
    return None
