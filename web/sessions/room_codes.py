"""Room codes: the unguessable name of a session's room, in URLs and on `sessions:{room_code}`."""

from __future__ import annotations

import secrets

# 16 random bytes: 22 URL-safe characters, within the column's 32 and the hub's channel pattern.
ROOM_CODE_BYTES = 16


def new_room_code() -> str:
    while True:
        code = secrets.token_urlsafe(ROOM_CODE_BYTES)
        # `sessions:{digits}` names a session by id on the hub, so a room code must never be all digits.
        if not code.isdigit():
            return code
