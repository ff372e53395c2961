"""The realtime objects the app holds, one typed key each (set by `setup_realtime`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from web.realtime.bus import EventBus
    from web.realtime.hub import Hub

BUS: web.AppKey[EventBus] = web.AppKey("bus")
HUB: web.AppKey[Hub] = web.AppKey("hub")
