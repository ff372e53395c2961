"""`setup_realtime(app)`: the event bus and the `/ws` hub, built once for the app (ARCHITECTURE §6).

Called by `create_app` once CONFIG, CLOCK, DB and the session middleware are in place. It builds
the bus named by `[redis] url` (empty: in-process) and the hub, stores them under
`web.realtime.keys.BUS` / `HUB`, closes every socket on shutdown (code 1001) and the bus on
cleanup. When METRICS is already set, the hub adds its gauges. Readiness checks call
`await app[BUS].ping()`, which raises `BusUnavailable`. The routes (`/ws`, the bell's API) are in
web.realtime.endpoints, which the app factory adds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from models.clock import Clock
from web.config import Config
from web.keys import CLOCK, CONFIG, DB, METRICS
from web.realtime.bus import EventBus, HistoryPolicy
from web.realtime.hub import Hub, HubSettings
from web.realtime.keys import BUS, HUB
from web.realtime.memory import InProcessBus
from web.realtime.redis_bus import RedisBus


def history_policy(config: Config) -> HistoryPolicy:
    size = config.int("hub", "history_size")
    max_replay = config.int("hub", "max_replay")
    return HistoryPolicy(
        history_size=size, history_ttl_seconds=config.float("hub", "history_ttl_seconds"), max_replay=max_replay
    )


def hub_settings(config: Config) -> HubSettings:
    return HubSettings(
        send_queue_size=config.int("hub", "send_queue_size"),
        heartbeat_seconds=config.float("hub", "heartbeat_seconds"),
        max_message_bytes=config.int("hub", "max_message_bytes"),
        reauthorize_seconds=config.float("hub", "reauthorize_seconds"),
    )


def build_bus(config: Config, clock: Clock) -> EventBus:
    url = config.str("redis", "url")
    policy = history_policy(config)
    if url:
        return RedisBus.from_url(url, policy=policy, clock=clock)
    return InProcessBus(policy, clock)


def setup_realtime(app: web.Application, *, bus: EventBus | None = None) -> None:
    """Wire the realtime parts into `app`; `bus` overrides the one `[redis] url` names
    (tests and benchmarks pass a RedisBus with their own key prefix)."""
    bus = bus or build_bus(app[CONFIG], app[CLOCK])
    hub = Hub(bus, app[DB], hub_settings(app[CONFIG]))
    app[BUS] = bus
    app[HUB] = hub
    if METRICS in app:
        app[METRICS].append(hub.metrics)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await bus.start()
        recheck = asyncio.create_task(hub.reauthorize_forever(hub.settings.reauthorize_seconds))
        yield
        recheck.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recheck
        await bus.close()

    async def close_sockets(_app: web.Application) -> None:
        # On shutdown, not cleanup: aiohttp waits for open handlers (every WebSocket) before
        # it runs cleanup, so sockets left open would hold a graceful stop for its full timeout.
        await hub.close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_sockets)
