"""Rooms on media nodes: the web side of the registry (issue 14).

Without `[redis] url` nothing here runs: `serve`'s embedded node hosts every room, as always.
With it:
- the embedded node (unless `[media] embedded = false`) registers like a standalone one (its URL:
  `[media] public_url`, empty meaning the web app's own origin), events staying in-process;
- `place_room` (the join) asks the Redis placement for the room's node; the join token names that
  node and its URL, and the browser connects there directly (web nodes never proxy media). While
  Redis is down, a room this web node placed before keeps its node; a new room gets a 503.
- `NodeEventConsumer` reads the standalone nodes' `events` stream with the consumer group `web`
  and hands each event to the same listeners an embedded node's events reach (chat archive,
  attendance, recordings, room ending, the realtime bus), acknowledging it after they ran.
  An entry left pending by a web node that died is claimed after `claim_idle` by another.
- `end_remote_room` / `forget_remote_ended` send the room's node its command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiohttp import web
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from media_server import MediaNode
from media_server.agent import NodeAgent
from media_server.cancellation import raise_if_cancelling
from media_server.event_codec import decode
from media_server.placement import Limits, NodePlacement, NodeReport, NoNodeAvailable
from media_server.redis_placement import RedisPlacement
from media_server.registry import LockTimeout, NodeRegistry
from web.config import Config
from web.errors import ApiError
from web.keys import CONFIG
from web.room.keys import MEDIA_NODE

log = logging.getLogger(__name__)
GROUP = "web"

REGISTRY: web.AppKey[NodeRegistry] = web.AppKey("node_registry", NodeRegistry)
PLACEMENT: web.AppKey[RedisPlacement] = web.AppKey("placement", RedisPlacement)
# Rooms this web node placed, newest last: where a join goes while Redis is unreachable.
KNOWN_PLACEMENTS: web.AppKey[OrderedDict[str, NodePlacement]] = web.AppKey("known_placements")
_KNOWN_MAX = 10_000


def registry_from_config(config: Config) -> NodeRegistry:
    # Short timeouts: a stalled Redis must fail a heartbeat or a join quickly, never hang the node.
    timeout = max(1.0, config.float("scale", "heartbeat_seconds"))
    redis = Redis.from_url(config.str("redis", "url"), socket_timeout=timeout + 1.0, socket_connect_timeout=timeout)
    return NodeRegistry(redis, config.str("scale", "key_prefix"))


def limits_from_config(config: Config) -> Limits:
    return Limits(max_rooms=config.int("media", "max_rooms"), max_participants=config.int("media", "max_participants"),
                  dead_after=config.float("scale", "dead_after_seconds"))


def placement_from_config(config: Config, registry: NodeRegistry) -> RedisPlacement:
    return RedisPlacement(registry, limits_from_config(config), lock_ttl=config.float("scale", "lock_seconds"),
                          lock_wait=config.float("scale", "lock_wait_seconds"))


def embedded(config: Config) -> bool:
    return config.bool("media", "embedded") or not config.str("redis", "url")


def embedded_url(config: Config) -> str:
    """How other web nodes' browsers reach this process's embedded node: `[media] public_url`, else
    `[web] public_url` + /rtc (empty when neither is set: only this site's own pages can use it)."""
    url = config.str("media", "public_url")
    if url:
        return url
    site = config.str("web", "public_url").rstrip("/")
    if not site:
        return ""
    return ("wss://" + site.removeprefix("https://") if site.startswith("https://")
            else "ws://" + site.removeprefix("http://")) + "/rtc"


def unavailable(message: str) -> ApiError:
    return ApiError(503, message)


async def place_room(app: web.Application, room_code: str) -> NodePlacement | None:
    """The node a join goes to, or None for this process's embedded node (no registry)."""
    placement = app.get(PLACEMENT)
    if placement is None:
        return None
    known = app[KNOWN_PLACEMENTS]
    try:
        chosen = await placement.place(room_code)
    except NoNodeAvailable as exc:
        raise unavailable("No media server can take this room right now. Try again in a minute.") from exc
    except LockTimeout as exc:
        raise unavailable("The room is being opened; try again in a moment.") from exc
    except (redis_errors.RedisError, OSError) as exc:
        if room_code in known:
            log.warning("Redis unreachable; room %s stays on node %s", room_code, known[room_code].node_id)
            return known[room_code]
        raise unavailable("Rooms cannot be opened right now (the media registry is unreachable).") from exc
    if chosen.node_id == app[MEDIA_NODE].settings.node_id and embedded(app[CONFIG]):
        # This process's own node: the page's own origin, whatever URL other web nodes use for it.
        chosen = NodePlacement(chosen.node_id, "")
    known[room_code] = chosen
    known.move_to_end(room_code)
    while len(known) > _KNOWN_MAX:
        known.popitem(last=False)
    return chosen


async def room_node_report(app: web.Application, room_code: str) -> NodeReport | None:
    """The live registered node the room is placed on (None without a registry or when unknown)."""
    registry = app.get(REGISTRY)
    if registry is None:
        return None
    node_id = await registry.room_node(room_code)
    if node_id is None:
        return None
    for node in await registry.nodes():
        if node.id == node_id:
            return node
    return None


async def end_remote_room(app: web.Application, room_code: str, reason: str) -> None:
    """Ask the node the room is placed on to end it (the embedded node is ended in-process)."""
    await _command(app, room_code, {"cmd": "end_room", "room": room_code, "reason": reason})


async def forget_remote_ended(app: web.Application, room_code: str) -> None:
    await _command(app, room_code, {"cmd": "forget_ended", "room": room_code})


async def _command(app: web.Application, room_code: str, command: dict[str, str]) -> None:
    registry = app.get(REGISTRY)
    if registry is None:
        return
    try:
        node_id = await registry.room_node(room_code)
        if node_id is not None and node_id != app[MEDIA_NODE].settings.node_id:
            await registry.send_command(node_id, command)
    except (redis_errors.RedisError, OSError):
        log.warning("could not send %s for room %s to its node", command["cmd"], room_code, exc_info=True)


async def node_rows(config: Config) -> list[dict[str, Any]]:
    """What an operator reads about each node (the `nodes` command and the admin dashboard)."""
    registry = registry_from_config(config)
    try:
        reports = await registry.nodes()
    finally:
        await registry.redis.aclose()
    return describe_nodes(reports, time.time(), limits_from_config(config).dead_after)


def describe_nodes(reports: Iterable[NodeReport], now: float, dead_after: float) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "state": r.status(now, dead_after),
            "url": r.url,
            "rooms": r.rooms,
            "participants": r.participants,
            "streams": r.streams,
            "cpu": r.cpu,
            "last_heartbeat": r.last_heartbeat,
            "seconds_since_heartbeat": round(max(0.0, now - r.last_heartbeat), 1),
            "ice_hosts": list(r.ice_hosts),
            "pid": r.pid,
        }
        for r in reports
    ]


async def nodes_overview(app: web.Application) -> dict[str, Any]:
    """The admin dashboard's media nodes: `registry` false without Redis (the embedded node only)."""
    registry = app.get(REGISTRY)
    if registry is None:
        return {"registry": False, "nodes": [], "error": None}
    try:
        reports = await registry.nodes()
    except (redis_errors.RedisError, OSError):
        return {"registry": True, "nodes": [], "error": "The media registry (Redis) is unreachable."}
    dead_after = limits_from_config(app[CONFIG]).dead_after
    return {"registry": True, "nodes": describe_nodes(reports, time.time(), dead_after), "error": None}


# How long each part of this web node's scale-out machinery may take to stop.
SHUTDOWN_SECONDS = 5.0


class NodeEventConsumer:
    """At-least-once delivery of the standalone nodes' events to this web node's listeners."""

    def __init__(self, registry: NodeRegistry, node: MediaNode, *, consumer: str, claim_idle: float = 30.0) -> None:
        self.registry = registry
        self.node = node
        self.consumer = consumer
        self.claim_idle = claim_idle
        self.delivered = 0
        self.failed = 0

    async def ensure_group(self) -> None:
        with contextlib.suppress(redis_errors.ResponseError):  # BUSYGROUP: it exists
            await self.registry.redis.xgroup_create(self.registry.events_key, GROUP, id="0", mkstream=True)

    async def run(self) -> None:
        claimed_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            raise_if_cancelling()
            try:
                await self.ensure_group()
                if loop.time() - claimed_at > self.claim_idle / 2:
                    claimed_at = loop.time()
                    await self._claim_abandoned()
                replies: Any = await self.registry.redis.xreadgroup(
                    GROUP, self.consumer, {self.registry.events_key: ">"}, count=100, block=1000)
                for _stream, entries in replies or []:
                    await self._handle(entries)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.debug("node event stream unreachable; retrying", exc_info=True)
                await asyncio.sleep(0.5)

    async def _claim_abandoned(self) -> None:
        reply = await self.registry.redis.xautoclaim(
            self.registry.events_key, GROUP, self.consumer, min_idle_time=int(self.claim_idle * 1000), count=100)
        entries = reply[1] if reply else []
        await self._handle([e for e in entries if e and e[1]])

    async def _handle(self, entries: list[Any]) -> None:
        for entry_id, fields in entries:
            raw = fields.get(b"e") or fields.get("e")
            try:
                event = decode(raw) if raw is not None else None
            except ValueError:
                log.warning("dropping an unreadable node event %s", entry_id)
                event = None
            if event is not None:
                try:
                    await self.node.deliver(event)
                    self.delivered += 1
                except Exception:
                    # The listeners log their own failures; one bad event must not stop the stream.
                    self.failed += 1
                    log.exception("node event %s failed", entry_id)
            await self.registry.redis.xack(self.registry.events_key, GROUP, entry_id)


def setup_allocation(app: web.Application) -> None:
    """Registry, placement, event consumer and (embedded) node registration, when Redis is configured."""
    config = app[CONFIG]
    if not config.str("redis", "url"):
        return
    registry = registry_from_config(config)
    app[REGISTRY] = registry
    app[PLACEMENT] = placement_from_config(config, registry)
    app[KNOWN_PLACEMENTS] = OrderedDict()
    node = app[MEDIA_NODE]
    consumer = NodeEventConsumer(registry, node, consumer=f"{socket.gethostname()}-{os.getpid()}-{id(app):x}")
    agent: NodeAgent | None = None
    if embedded(config):
        agent = NodeAgent(node, registry, url=embedded_url(config),
                          interval=config.float("scale", "heartbeat_seconds"),
                          forget_after=config.float("scale", "forget_after_seconds"), forward_events=False,
                          placement=app[PLACEMENT], drain_seconds=config.float("scale", "drain_seconds"))

    consume = config.bool("scale", "consume_node_events")

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        consuming = asyncio.create_task(consumer.run(), name="node-events-consumer") if consume else None
        if agent is not None:
            await agent.start()
        yield
        # Shutdown is bounded: a Redis that stopped answering (or a listener stuck in a write) must not
        # hold the process past its stop.
        if consuming is not None:
            consuming.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(consuming, SHUTDOWN_SECONDS)
        if agent is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(agent.stop(), SHUTDOWN_SECONDS)
        with contextlib.suppress(TimeoutError, OSError, redis_errors.RedisError):
            await asyncio.wait_for(registry.redis.aclose(), SHUTDOWN_SECONDS)

    app.cleanup_ctx.append(lifecycle)
