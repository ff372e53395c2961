"""Mounts the SFU on the web app: /rtc signaling, /rtc/test page, metrics, bus events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from media_server import MediaNode, MediaSettings, NodeEvent, QualityChanged
from media_server.ice_servers import parse_ice_servers
from media_server.migration import handle_import
from media_server.rates import Rate
from media_server.signaling import handle_rtc
from web import keys
from web.config import Config
from web.middlewares import csrf_exempt, refuse_cross_site
from web.realtime.channels import room_channel
from web.realtime.keys import BUS
from web.room.keys import MEDIA_NODE

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def settings_from_config(config: Config) -> MediaSettings:
    return MediaSettings(
        node_id=config.str("media", "node_id"),
        ice_hosts=tuple(str(h) for h in config.list("media", "ice_hosts")),
        ice_servers=parse_ice_servers(config.list("media", "ice_servers")),
        recordings_dir=config.data_path("recordings", "dir"),
        recording_segment_seconds=config.float("recordings", "segment_seconds"),
        recording_segment_grace=config.float("recordings", "segment_grace_seconds"),
        max_message_bytes=config.int("media", "max_message_bytes"),
        quality_interval=config.float("media", "quality_interval_seconds"),
        quality_window=config.float("media", "quality_window_seconds"),
        resume_grace=config.float("media", "resume_grace_seconds"),
        resume_settle=config.float("media", "resume_settle_seconds"),
        speaker_interval=config.float("media", "speaker_interval_seconds"),
        speaker_threshold=config.int("media", "speaker_threshold_dbov"),
        speaker_hold=config.float("media", "speaker_hold_seconds"),
        forwarding=config.str("media", "forwarding"),
        raw_history_packets=config.int("media", "raw_history_packets"),
        congestion_pause_loss=config.float("media", "congestion_pause_loss"),
        congestion_resume_loss=config.float("media", "congestion_resume_loss"),
        congestion_pause_rtt=config.float("media", "congestion_pause_rtt_seconds"),
        congestion_pause_after=config.float("media", "congestion_pause_after_seconds"),
        congestion_resume_after=config.float("media", "congestion_resume_after_seconds"),
        # The board a late joiner is sent is the board stored when the room ends (web.room.archive).
        whiteboard_history_bytes=config.int("sessions", "whiteboard_max_bytes"),
        **_signaling_limits(config),
    )


def _signaling_limits(config: Config) -> dict[str, Any]:
    """[media]'s /rtc limits (queues, tokens, answer timeout, publications, message rates)."""
    rates = MediaSettings().rates
    for kind in ("chat", "whiteboard", "ping", "publish"):
        rates[kind] = Rate(config.float("media", f"{kind}_rate"), config.int("media", f"{kind}_burst"))
    return {
        "send_queue_messages": config.int("media", "send_queue_messages"),
        "send_queue_bytes": config.int("media", "send_queue_bytes"),
        "whiteboard_page_bytes": config.int("media", "whiteboard_page_bytes"),
        "join_timeout": config.float("media", "join_timeout_seconds"),
        "used_tokens_kept": config.int("media", "used_tokens_kept"),
        "answer_timeout": config.float("media", "answer_timeout_seconds"),
        "max_publications": config.int("media", "max_publications"),
        "rates": rates,
    }


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

    app.router.add_get("/rtc", rtc)
    app.router.add_get("/rtc/test", test_page)
    # The room UI may serve web/static itself; this keeps the test page self-contained.
    app.router.add_get("/rtc/{name:sfu-client\\.js|sfu-test\\.js|sfu-migration\\.js}", client_module)
    # The test page's script and styles are files (the CSP allows no inline ones), served beside it.
    app.router.add_get("/rtc/sfu-test.css", test_styles)

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
