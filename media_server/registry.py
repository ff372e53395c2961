"""The media nodes' registry in Redis: who serves, how loaded, which room runs where.

Keys, under a deployment prefix `p` (`[scale] key_prefix`):
- `p:nodes`: set of node ids ever registered and not yet forgotten.
- `p:node:<id>`: hash, the node's last report (`id url state rooms participants streams cpu
  last_heartbeat ice_hosts room_participants started_at pid`); rewritten by every heartbeat and
  expiring `forget_after` seconds after the last one, so a dead node is listed as `dead` for a
  while and then disappears. `state` is written by the node when it registers and by
  `mentorlive media-node drain` (the node reads it back on its next heartbeat).
- `p:node:<id>:rooms`: sorted set of the room codes placed on the node, scored by when (what the selector
  counts, so rooms
  placed between two heartbeats still spread).
- `p:room:<code>`: the id of the node the room is placed on; changed only by compare-and-set.
- `p:lock:<code>`: a short lock held while a web node places the room.
- `p:node:<id>:cmd`: stream of commands to the node (`end_room`, `forget_ended`).
- `p:events`: stream of node events for the web nodes (consumer group `web`).

Everything here is one round trip or one Lua script; callers decide what an outage means.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from media_server.placement import DRAINING, SERVING, NodeReport

# Set room -> new node only if it still maps to `expected` ("" = unmapped); move the room between
# the nodes' room sets in the same step. Returns 1 when set.
_CAS_ROOM = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  if current then redis.call('ZREM', ARGV[3] .. current .. ':rooms', KEYS[2]) end
  redis.call('ZADD', ARGV[3] .. ARGV[2] .. ':rooms', ARGV[4], KEYS[2])
  return 1
end
return 0
"""
# Delete room -> node if it still names this node.
_RELEASE_ROOM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Heartbeat: write the report; `state` only when the hash is new (a drain set by an operator sticks)
# or when the node itself asks to drain. Returns the state in effect.
_HEARTBEAT = """
local existed = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if existed == 0 or ARGV[2] == 'draining' then redis.call('HSET', KEYS[1], 'state', ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
return redis.call('HGET', KEYS[1], 'state')
"""


class LockTimeout(Exception):
    """Another web node held the room's lock for longer than we wait."""


class NodeRegistry:
    def __init__(self, redis: Redis, prefix: str = "mentorlive:scale") -> None:
        self.redis = redis
        self.prefix = prefix.rstrip(":")

    # -- key names ------------------------------------------------------------------------
    def node_key(self, node_id: str) -> str:
        return f"{self.prefix}:node:{node_id}"

    def room_key(self, room_code: str) -> str:
        return f"{self.prefix}:room:{room_code}"

    @property
    def nodes_key(self) -> str:
        return f"{self.prefix}:nodes"

    @property
    def events_key(self) -> str:
        return f"{self.prefix}:events"

    def commands_key(self, node_id: str) -> str:
        return f"{self.prefix}:node:{node_id}:cmd"

    # -- the node's side ------------------------------------------------------------------
    async def heartbeat(self, report: NodeReport, forget_after: float, *, new_state: str = SERVING) -> str:
        """Write the node's report; return its state (`draining` once an operator asked for it)."""
        fields = encode_report(report)
        fields.pop("state")
        flat: list[str] = []
        for key, value in fields.items():
            flat += [key, value]
        state = await self.redis.eval(  # type: ignore[misc]
            _HEARTBEAT, 2, self.node_key(report.id), self.nodes_key,
            str(max(1, int(forget_after))), new_state, report.id, *flat,
        )
        return _text(state) or SERVING

    async def register(self, report: NodeReport, forget_after: float) -> None:
        """A (re)starting node: its state is what it says, whatever an earlier run left."""
        await self.redis.delete(self.node_key(report.id))
        await self.heartbeat(report, forget_after, new_state=report.state)

    async def deregister(self, node_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.node_key(node_id), f"{self.node_key(node_id)}:rooms")
            pipe.srem(self.nodes_key, node_id)
            await pipe.execute()

    async def hold_rooms(self, node_id: str, room_codes: list[str]) -> list[str]:
        """Re-assert the rooms this node runs (after Redis lost them): the codes now placed elsewhere."""
        elsewhere: list[str] = []
        for code in room_codes:
            await self.cas_room(code, "", node_id)
            current = await self.room_node(code)
            if current is not None and current != node_id:
                elsewhere.append(code)
        return elsewhere

    async def release_room(self, room_code: str, node_id: str) -> bool:
        done = await self.redis.eval(  # type: ignore[misc]
            _RELEASE_ROOM, 2, self.room_key(room_code), f"{self.node_key(node_id)}:rooms", node_id, room_code
        )
        return bool(done)

    # -- the web's side -------------------------------------------------------------------
    async def nodes(self) -> list[NodeReport]:
        ids = sorted(_text(i) or "" for i in await self.redis.smembers(self.nodes_key))  # type: ignore[misc]
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for node_id in ids:
                pipe.hgetall(self.node_key(node_id))
                pipe.zcard(f"{self.node_key(node_id)}:rooms")
            replies = await pipe.execute()
        reports: list[NodeReport] = []
        forgotten: list[str] = []
        for index, node_id in enumerate(ids):
            raw, placed = replies[2 * index], int(replies[2 * index + 1])
            if not raw:
                forgotten.append(node_id)
                continue
            report = decode_report({_text(k) or "": _text(v) or "" for k, v in raw.items()})
            # Rooms placed since the last heartbeat count at once, so a burst of Go Lives spreads.
            reports.append(_with_rooms(report, max(report.rooms, placed)))
        if forgotten:
            await self.redis.srem(self.nodes_key, *forgotten)  # type: ignore[misc]
        return reports

    async def set_state(self, node_id: str, state: str) -> bool:
        """An operator's drain: False when no such node is registered."""
        if state not in (SERVING, DRAINING):
            raise ValueError(f"unknown node state {state!r}")
        if not await self.redis.exists(self.node_key(node_id)):
            return False
        await self.redis.hset(self.node_key(node_id), "state", state)  # type: ignore[misc]
        return True

    async def room_node(self, room_code: str) -> str | None:
        return _text(await self.redis.get(self.room_key(room_code)))

    async def cas_room(self, room_code: str, expected: str, node_id: str) -> bool:
        done = await self.redis.eval(  # type: ignore[misc]
            _CAS_ROOM, 2, self.room_key(room_code), room_code, expected, node_id, f"{self.prefix}:node:",
            f"{time.time():.3f}",
        )
        return bool(done)

    async def release_unopened(self, node_id: str, live_rooms: set[str], older_than: float) -> list[str]:
        """Rooms placed on this node before `older_than` (epoch seconds) that never opened here (the join's
        browser never came): released, so they stop counting against the node. Returns their codes."""
        placed: list[Any] = await self.redis.zrangebyscore(f"{self.node_key(node_id)}:rooms", "-inf", older_than)
        released = []
        for raw in placed:
            code = _text(raw) or ""
            if code not in live_rooms and await self.release_room(code, node_id):
                released.append(code)
        return released

    @contextlib.asynccontextmanager
    async def room_lock(self, room_code: str, ttl: float, wait: float) -> AsyncIterator[None]:
        key, token = f"{self.prefix}:lock:{room_code}", secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait
        while not await self.redis.set(key, token, nx=True, px=max(1, int(ttl * 1000))):
            if loop.time() >= give_up:
                raise LockTimeout(f"room {room_code} is being placed by another web node")
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await self.redis.eval(_UNLOCK, 1, key, token)  # type: ignore[misc]

    async def send_command(self, node_id: str, command: Mapping[str, str]) -> None:
        fields: dict[Any, Any] = dict(command)
        await self.redis.xadd(self.commands_key(node_id), fields, maxlen=1000, approximate=True)


def encode_report(report: NodeReport) -> dict[str, str]:
    return {
        "id": report.id,
        "url": report.url,
        "state": report.state,
        "rooms": str(report.rooms),
        "participants": str(report.participants),
        "streams": str(report.streams),
        "cpu": f"{report.cpu:.1f}",
        "last_heartbeat": f"{report.last_heartbeat:.3f}",
        "ice_hosts": json.dumps(list(report.ice_hosts)),
        "room_participants": json.dumps(report.room_participants),
        "started_at": f"{report.started_at:.3f}",
        "pid": str(report.pid),
    }


def decode_report(raw: Mapping[str, str]) -> NodeReport:
    def number(key: str) -> float:
        try:
            return float(raw.get(key) or 0)
        except ValueError:
            return 0.0

    def loaded(key: str, default: Any) -> Any:
        try:
            return json.loads(raw.get(key) or "null") or default
        except ValueError:
            return default

    return NodeReport(
        id=raw.get("id", ""),
        url=raw.get("url", ""),
        state=raw.get("state") or SERVING,
        rooms=int(number("rooms")),
        participants=int(number("participants")),
        streams=int(number("streams")),
        cpu=number("cpu"),
        last_heartbeat=number("last_heartbeat"),
        ice_hosts=tuple(str(h) for h in loaded("ice_hosts", [])),
        room_participants={str(k): int(v) for k, v in loaded("room_participants", {}).items()},
        started_at=number("started_at"),
        pid=int(number("pid")),
    )


def _with_rooms(report: NodeReport, rooms: int) -> NodeReport:
    return replace(report, rooms=rooms)


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value
