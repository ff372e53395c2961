"""MediaNode: this process's rooms, the listeners told what happens in them, and shutdown.

Closing cascades: node -> rooms -> participants -> peer connections, publications,
subscriptions; every task the node starts is tracked and awaited on close. The node
is the root of the tree: it imports its children (room, quality monitor, metrics),
and they reach it only through the protocols they declare (`RoomParent`, `Rated`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any

from media_server import metrics, migration
from media_server.aiortc_hooks.checks import check_hooks
from media_server.errors import RoomClosed, TokenError
from media_server.events import Listener, NodeEvent
from media_server.participant import Participant
from media_server.placement import Placement
from media_server.quality.monitor import QualityMonitor
from media_server.room import Room
from media_server.settings import MediaSettings
from media_server.tokens import JoinClaims, UsedTokens, verify_join_token

log = logging.getLogger(__name__)
# The end that ends the session (the host's `end`); `empty` and `node_closed` do not.
ENDED_BY_HOST = "ended_by_host"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MediaNode:
    def __init__(
        self, settings: MediaSettings, secret: str, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.settings = settings
        self._secret = secret
        self.now = clock or _utc_now
        self.rooms: dict[str, Room] = {}
        # Codes of rooms whose session ended (the host's end or `end_room`), oldest first,
        # so a join token still valid after the end gets `ended: true`, not a new room.
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.quality = QualityMonitor(settings.quality_interval, settings.quality_window, self.participants)
        self.closed = False
        # Draining: no new rooms here; the live ones are moving to other nodes (media_server.migration).
        self.draining = False
        # Join tokens are good for one join each (signaling checks them here).
        self.used_tokens = UsedTokens(settings.used_tokens_kept)

    async def start(self) -> None:
        missing = check_hooks()
        if missing:
            raise RuntimeError(f"aiortc internals the SFU needs are missing: {missing}")
        self.quality.start()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for room in list(self.rooms.values()):
            await room.end("node_closed")
        await self.quality.stop()
        while self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
            self._tasks = {t for t in self._tasks if not t.done()}

    # -- events -----------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: NodeEvent) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(event)
            except Exception:
                log.exception("listener failed on %s", type(event).__name__)
                continue
            if inspect.isawaitable(result):
                self.spawn(result)

    async def deliver(self, event: NodeEvent) -> None:
        """An event of a node in another process (web.room.allocation): every listener runs to the
        end before this returns, so the stream entry is acknowledged only once it was handled."""
        for listener in list(self._listeners):
            try:
                result = listener(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("listener failed on %s", type(event).__name__)

    def spawn(self, coro: Coroutine[Any, Any, Any] | Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("media task failed", exc_info=task.exception())

    # -- rooms ------------------------------------------------------------------------
    def verify(self, token: str, *, allow_expired: bool = False) -> JoinClaims:
        claims = verify_join_token(self._secret, token, self.now(), allow_expired=allow_expired)
        if claims.node != self.settings.node_id:
            raise TokenError(f"join token is for node {claims.node!r}, this is {self.settings.node_id!r}")
        return claims

    def room(self, code: str, *, moving_in: bool = False) -> Room:
        room = self.rooms.get(code)
        if room is None:
            if self.draining and not moving_in:
                raise RoomClosed("this media node is draining: the room opens on another node; join again")
            room = self.rooms[code] = Room(code, self)
        return room

    # -- migration --------------------------------------------------------------------
    async def drain(self, placement: Placement, deadline: float) -> None:
        """Stop opening rooms and move every live room to another node, make-before-break.

        `deadline` is on the event loop's clock (`loop.time()`). Returns when this node hosts
        no room: every participant moved, or was dropped at the deadline (media_server.migration).
        """
        self.draining = True
        await migration.drain(self, placement, deadline, self._secret)

    def verify_handover(self, code: str, body: bytes, headers: Any) -> None:
        """Raise HandoverError unless another node holding our secret signed this room's handover."""
        migration.verify_snapshot(self._secret, code, body, headers)

    async def end_room(self, code: str, reason: str) -> bool:
        """The session is over: end the room if this node hosts it (`end` to everyone,
        media closed, recording finished) and refuse to open it again. True if it was hosted."""
        self._remember_ended(code)
        room = self.rooms.get(code)
        if room is None:
            return False
        await room.end(reason)
        return True

    def room_ended(self, code: str) -> bool:
        """Whether the session of this room ended (a join gets the ended screen)."""
        room = self.rooms.get(code)
        if room is not None and room.ended and room.end_reason == ENDED_BY_HOST:
            return True  # still closing: remembered once it is closed
        return code in self._ended

    def forget_ended(self, code: str) -> None:
        """The session did not end after all (its host ended a room before it went live): let it open again."""
        self._ended.pop(code, None)

    def _remember_ended(self, code: str) -> None:
        self._ended[code] = None
        self._ended.move_to_end(code)
        while len(self._ended) > self.settings.ended_rooms_kept:
            self._ended.popitem(last=False)

    def room_closed(self, room: Room) -> None:
        if self.rooms.get(room.code) is room:
            del self.rooms[room.code]
        if room.end_reason == ENDED_BY_HOST:
            # The host's `end` ends the session; a room that emptied or a node that
            # stopped does not (the session carries on and the room may open again).
            self._remember_ended(room.code)

    def participants(self) -> Iterator[Participant]:
        """Everyone in every room, room by room (the quality monitor's round)."""
        for room in list(self.rooms.values()):
            yield from list(room.participants.values())

    def metrics_text(self) -> str:
        return metrics.render(self.settings.node_id, list(self.rooms.values()))
