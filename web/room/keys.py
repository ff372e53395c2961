"""The room domain's long-lived object: this process's media node (set by web.room.sfu.setup_rtc)."""

from __future__ import annotations

from aiohttp import web

from media_server import MediaNode

MEDIA_NODE: web.AppKey[MediaNode] = web.AppKey("media_node", MediaNode)
