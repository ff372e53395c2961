"""The realtime objects the app holds, one typed key each (set by `setup_realtime`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from web.realtime.bus import EventBus
    from web.realtime.hub import Hub
    from web.realtime.presence import PresenceHook
    from web.realtime.publisher import EventPublisher

BUS: web.AppKey[EventBus] = web.AppKey("bus")
HUB: web.AppKey[Hub] = web.AppKey("hub")
# Publishes after-commit events in the background (web.realtime.outbox hands them over).
PUBLISHER: web.AppKey[EventPublisher] = web.AppKey("publisher")
# Set by the code that gives presence a meaning (the room's lobby); the hub works without it.
PRESENCE: web.AppKey[PresenceHook] = web.AppKey("presence")
