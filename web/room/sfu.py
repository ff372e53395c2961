"""Mounts the SFU on the web app: /rtc signaling, /rtc/test page, metrics, bus events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from media_server import MediaNode, MediaSettings, NodeEvent, QualityChanged
from media_server.migration import handle_import
from media_server.signaling import handle_rtc
from web import keys
from web.middlewares import csrf_exempt, refuse_cross_site
from web.realtime.channels import room_channel
from web.realtime.keys import BUS
from web.room.allocation import embedded
from web.room.keys import MEDIA_NODE
from web.room.media_settings import settings_from_config

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def bus_message(event: NodeEvent) -> tuple[str, str, dict[str, Any]] | None:
    """(channel, event name, data) for the realtime bus, or None when not published.

    Media joins and leaves are not published: `learner.join`/`learner.leave` mean the lobby
    (web.room.presence, learners with the room page open, media or not), and the call's own
    participant list travels on the signaling socket. A room's end is not `session.end` either:
    a room also ends when it empties or the node stops, and the session's end is published once,
    after its commit, by web.room.service.mark_ended.
    """
    if isinstance(event, QualityChanged):
        data = {
            "participant_id": event.participant_id,
            "user_id": event.user_id,
            "level": event.level,
            "score": event.score,
            "reason": event.reason,
        }
        return room_channel(event.room), "quality", data
    return None


def setup_rtc(app: web.Application, settings: MediaSettings | None = None) -> None:
    config = app[keys.CONFIG]
    node = MediaNode(settings or settings_from_config(config), app[keys.SECRET], _clock(app))
    app[MEDIA_NODE] = node

    async def rtc(request: web.Request) -> web.StreamResponse:
        # The room UI is served by this app: a page of another site has no business here.
        refuse_cross_site(request)
        return await handle_rtc(request.app[MEDIA_NODE], request)

    async def test_page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "sfu-test.html")

    async def client_module(request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC_DIR / request.match_info["name"])
        response.content_type = "text/javascript"
        return response

    async def test_styles(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "sfu-test.css")

    app.router.add_get("/rtc/test", test_page)
    # The room UI may serve web/static itself; this keeps the test page self-contained.
    app.router.add_get("/rtc/{name:sfu-client\\.js|sfu-test\\.js|sfu-migration\\.js}", client_module)
    # The test page's script and styles are files (the CSP allows no inline ones), served beside it.
    app.router.add_get("/rtc/sfu-test.css", test_styles)
    if not embedded(config):
        # A web-only process: rooms run on `mentorlive media-node` processes. The node object stays,
        # never started, as the point where their events (web.room.allocation) reach the listeners.
        _connect_bus(app, node)
        return
    app.router.add_get("/rtc", rtc)

    @csrf_exempt
    async def room_handover(request: web.Request) -> web.StreamResponse:
        # Node to node (a draining node hands over a live room); authenticated by an HMAC, not a cookie.
        return await handle_import(request.app[MEDIA_NODE], request)

    app.router.add_post("/rtc/internal/rooms/{code:[A-Za-z0-9_-]{1,64}}", room_handover)
    app.cleanup_ctx.append(_node_lifetime)
    if keys.METRICS in app:
        app[keys.METRICS].append(node.metrics_text)
    _connect_bus(app, node)


async def _node_lifetime(app: web.Application) -> AsyncIterator[None]:
    node = app[MEDIA_NODE]
    await node.start()
    yield
    await node.close()


def _clock(app: web.Application) -> Any:
    # Read the app's clock at each call: create_app may set it after setup_rtc.
    def now() -> datetime:
        clock = app.get(keys.CLOCK)
        return clock.now() if clock is not None else datetime.now(UTC)

    return now


def _connect_bus(app: web.Application, node: MediaNode) -> None:
    async def publish(event: NodeEvent) -> None:
        message = bus_message(event)
        if message is None or BUS not in app:
            return
        try:
            await app[BUS].publish(*message)
        except Exception:
            # A bus outage must not disturb the call; the web app reconciles from its database.
            log.warning("could not publish %s on %s", message[1], message[0], exc_info=True)

    node.add_listener(publish)
