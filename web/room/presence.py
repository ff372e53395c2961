"""The room's lobby: which learners have the room page open, announced on `sessions:{room_code}`.

The room page's `/ws` socket subscribes to `sessions:{room_code}` with `presence: true`; the hub
calls this hook. A learner's first tab publishes `learner.join {user_id, name}`; their last tab
closing publishes `learner.leave {user_id, name}` after a short grace, so a reload or a reconnect
within `[sessions] presence_leave_grace_seconds` shows no leave-and-join flicker. The mentor and
admins are present too but never announced: the Waiting Learners list is learners only.

Presence is whether media has started or not; the SFU's own joins are not published (the
call's participant list comes from the signaling `participants` message). The state lives in
this process: with several web nodes, a learner's tabs on two nodes would be announced twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from models.enums import Role
from models.tables import MentorSession, User
from web.http.identity import Identity
from web.keys import CONFIG, DB
from web.realtime.authz import parse_channel
from web.realtime.channels import room_channel
from web.realtime.keys import PRESENCE
from web.realtime.outbox import Event, publish_committed

log = logging.getLogger(__name__)


@dataclass
class _Visitor:
    user_id: int
    name: str
    sockets: set[object] = field(default_factory=set)
    # Set while the last tab is gone but the grace has not run out.
    leaving: asyncio.TimerHandle | None = None


class RoomPresence:
    """Learners present per room code, in arrival order; one per user however many tabs."""

    def __init__(self, app: web.Application, leave_grace_seconds: float) -> None:
        self._app = app
        self._grace = leave_grace_seconds
        self._rooms: dict[str, dict[int, _Visitor]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def waiting(self, room_code: str) -> list[dict[str, Any]]:
        return [{"user_id": v.user_id, "name": v.name} for v in self._rooms.get(room_code, {}).values()]

    # the hub's hook

    async def arrived(self, socket: object, identity: Identity, channel: str) -> None:
        room_code = _room_code(channel)
        if room_code is None or identity.role != Role.LEARNER:
            return
        if self._rejoin(room_code, identity.user_id, socket):
            return
        name = await self._learner_name(room_code, identity.user_id)
        # Another tab of the same learner may have arrived while the name was read.
        if name is None or self._rejoin(room_code, identity.user_id, socket):
            return
        visitor = _Visitor(identity.user_id, name, {socket})
        self._rooms.setdefault(room_code, {})[identity.user_id] = visitor
        await self._publish(room_code, "learner.join", visitor)

    async def departed(self, socket: object, identity: Identity, channel: str) -> None:
        room_code = _room_code(channel)
        visitor = self._rooms.get(room_code or "", {}).get(identity.user_id)
        if room_code is None or visitor is None or socket not in visitor.sockets:
            return
        visitor.sockets.discard(socket)
        if visitor.sockets:
            return
        if self._grace <= 0:
            await self._leave(room_code, visitor)
            return
        visitor.leaving = asyncio.get_running_loop().call_later(self._grace, self._leave_later, room_code, visitor)

    # lifecycle

    async def close(self) -> None:
        """Forget everyone without announcing: on shutdown learners reconnect, they did not leave."""
        for room in self._rooms.values():
            for visitor in room.values():
                if visitor.leaving is not None:
                    visitor.leaving.cancel()
        self._rooms.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # inside

    def _rejoin(self, room_code: str, user_id: int, socket: object) -> bool:
        visitor = self._rooms.get(room_code, {}).get(user_id)
        if visitor is None:
            return False
        visitor.sockets.add(socket)
        if visitor.leaving is not None:
            visitor.leaving.cancel()
            visitor.leaving = None
        return True

    def _leave_later(self, room_code: str, visitor: _Visitor) -> None:
        visitor.leaving = None
        if visitor.sockets:
            return
        task = asyncio.create_task(self._leave(room_code, visitor))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _leave(self, room_code: str, visitor: _Visitor) -> None:
        room = self._rooms.get(room_code, {})
        # A tab that came back between the grace timer and this task keeps the learner present.
        if room.get(visitor.user_id) is not visitor or visitor.sockets:
            return
        del room[visitor.user_id]
        if not room:
            self._rooms.pop(room_code, None)
        await self._publish(room_code, "learner.leave", visitor)

    async def _learner_name(self, room_code: str, user_id: int) -> str | None:
        """The learner's name when the room is a session's and they are not its mentor."""
        async with self._app[DB].session() as s:
            mentor_id = (await s.exec(
                select(MentorSession.mentor_id).where(col(MentorSession.room_code) == room_code)
            )).first()
            user = await s.get(User, user_id)
        if mentor_id is None or mentor_id == user_id or user is None:
            return None
        return user.name

    async def _publish(self, room_code: str, event: str, visitor: _Visitor) -> None:
        data = {"user_id": visitor.user_id, "name": visitor.name}
        await publish_committed(self._app, [Event(room_channel(room_code), event, data)])


def _room_code(channel: str) -> str | None:
    name = parse_channel(channel)
    if name is None or name.kind != "sessions" or name.numeric_key is not None:
        return None
    return name.key


ROOM_PRESENCE: web.AppKey[RoomPresence] = web.AppKey("room_presence", RoomPresence)


def setup_room_presence(app: web.Application) -> None:
    presence = RoomPresence(app, app[CONFIG].float("sessions", "presence_leave_grace_seconds"))
    app[ROOM_PRESENCE] = presence
    app[PRESENCE] = presence

    async def forget_all(_app: web.Application) -> None:
        # After the hub closed every socket (on_shutdown), before the bus closes (cleanup).
        await presence.close()

    app.on_shutdown.append(forget_all)
