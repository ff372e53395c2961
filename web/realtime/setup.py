"""`setup_realtime(app)`: the event bus and the `/ws` hub, built once for the app (ARCHITECTURE §6).

Called by `create_app` once CONFIG, CLOCK, DB and the session middleware are in place. It builds
the bus named by `[redis] url` (empty: in-process) and the hub, stores them under
`web.realtime.keys.BUS` / `HUB`. A bus outside the process is wrapped in a GuardedBus (per-call
timeout, circuit breaker), and `PUBLISHER` publishes after-commit events in the background
(web.realtime.publisher). It closes every socket on shutdown (code 1001) and the bus on
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
from web.realtime.breaker import CircuitBreaker
from web.realtime.bus import EventBus, HistoryPolicy
from web.realtime.guarded import GuardedBus
from web.realtime.hub import Hub, HubSettings
from web.realtime.keys import BUS, HUB, PUBLISHER
from web.realtime.memory import InProcessBus
from web.realtime.publisher import EventPublisher
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
        send_queue_bytes=config.int("hub", "send_queue_bytes"),
        total_queue_bytes=config.int("hub", "total_queue_bytes"),
        max_anonymous_per_address=config.int("hub", "max_anonymous_per_address"),
        max_subscriptions=config.int("hub", "max_subscriptions"),
        heartbeat_seconds=config.float("hub", "heartbeat_seconds"),
        max_message_bytes=config.int("hub", "max_message_bytes"),
        reauthorize_seconds=config.float("hub", "reauthorize_seconds"),
    )


def build_bus(config: Config, clock: Clock) -> EventBus:
    url = config.str("redis", "url")
    policy = history_policy(config)
    if url:
        timeout = config.float("redis", "socket_timeout_seconds")
        return RedisBus.from_url(url, policy=policy, clock=clock, connect_timeout=timeout, socket_timeout=timeout)
    return InProcessBus(policy, clock)


def guard(bus: EventBus, config: Config) -> tuple[EventBus, CircuitBreaker | None]:
    """The bus behind a timeout and a breaker, unless it lives in this process (it cannot hang)."""
    if isinstance(bus, InProcessBus | GuardedBus):
        return bus, bus.breaker if isinstance(bus, GuardedBus) else None
    breaker = CircuitBreaker(config.int("hub", "breaker_failures"), config.float("hub", "breaker_open_seconds"))
    return GuardedBus(bus, breaker, config.float("hub", "bus_timeout_seconds")), breaker


def setup_realtime(app: web.Application, *, bus: EventBus | None = None) -> None:
    """Wire the realtime parts into `app`; `bus` overrides the one `[redis] url` names
    (tests and benchmarks pass a RedisBus with their own key prefix)."""
    config = app[CONFIG]
    bus, breaker = guard(bus or build_bus(config, app[CLOCK]), config)
    hub = Hub(bus, app[DB], hub_settings(config))
    publisher = EventPublisher(bus, breaker, max_bytes=config.int("hub", "publish_queue_bytes"))
    app[BUS] = bus
    app[HUB] = hub
    app[PUBLISHER] = publisher
    if METRICS in app:
        app[METRICS].append(hub.metrics)
        app[METRICS].append(lambda: _publisher_metrics(publisher, breaker))

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await bus.start()
        publisher.start()
        recheck = asyncio.create_task(hub.reauthorize_forever(hub.settings.reauthorize_seconds))
        yield
        recheck.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recheck
        await publisher.stop()
        await bus.close()

    async def close_sockets(_app: web.Application) -> None:
        # On shutdown, not cleanup: aiohttp waits for open handlers (every WebSocket) before
        # it runs cleanup, so sockets left open would hold a graceful stop for its full timeout.
        await hub.close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_sockets)


def _publisher_metrics(publisher: EventPublisher, breaker: CircuitBreaker | None) -> str:
    opened = breaker.opened_total if breaker is not None else 0
    return (
        "# TYPE mentorlive_bus_publish_queue_bytes gauge\n"
        f"mentorlive_bus_publish_queue_bytes {publisher.queued_bytes}\n"
        "# TYPE mentorlive_bus_published_total counter\n"
        f"mentorlive_bus_published_total {publisher.published}\n"
        "# TYPE mentorlive_bus_dropped_total counter\n"
        f"mentorlive_bus_dropped_total {publisher.dropped}\n"
        "# TYPE mentorlive_bus_breaker_opened_total counter\n"
        f"mentorlive_bus_breaker_opened_total {opened}\n"
    )
