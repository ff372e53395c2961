"""The room domain's long-lived objects: this process's media node (set by web.room.sfu.setup_rtc), and
what higher domains registered to run when a session ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from media_server import MediaNode

if TYPE_CHECKING:
    from models.tables import MentorSession
    from web.realtime.outbox import UnitOfWork

MEDIA_NODE: web.AppKey[MediaNode] = web.AppKey("media_node", MediaNode)
# Called inside the transaction that ends a session (web.room.service.mark_ended), once per session:
# a domain above room (recordings) finishes its part durably in the same commit.
ENDING_HOOKS: web.AppKey[list[Callable[[UnitOfWork, MentorSession], Awaitable[None]]]] = web.AppKey("ending_hooks")
