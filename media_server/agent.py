"""A media node's presence in the deployment: registration, heartbeats, events out, commands in, drain.

Lifecycle: `start()` registers the node (state `serving`) and starts three loops; `stop()` ends
them, pushes what events it can and deregisters.
- heartbeat, every `interval`: the node's report (rooms, participants, forwarded streams, CPU)
  into the registry; the state read back says whether an operator asked for a drain. A failed
  heartbeat marks Redis unreachable (`/readyz` fails) and the next success re-registers and
  re-claims the node's live rooms, so a Redis that lost its data cannot hand them to another node.
- events (a standalone node only): every node event is encoded into a bounded outbox (bytes) and
  appended to the deployment's `events` stream, oldest first; while Redis is down the outbox
  keeps the newest `outbox_bytes` and says how many it dropped.
- commands: the web nodes' `end_room` / `forget_ended` for rooms on this node.
Drain (an operator's `drain`, or SIGTERM): the node stops being chosen for new rooms, moves its
rooms away when the node can (`MediaNode.drain`), and `finished` is set once it has no rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from media_server import event_codec
from media_server.cancellation import raise_if_cancelling
from media_server.events import NodeEvent, RoomEnded
from media_server.placement import DRAINING, SERVING, NodeReport, Placement
from media_server.registry import NodeRegistry

if TYPE_CHECKING:
    from media_server.node import MediaNode

log = logging.getLogger(__name__)
_OBSERVER_ROLES = {"admin"}


class EventOutbox:
    """Encoded events waiting for Redis, bounded in bytes: past the bound the oldest go."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[str] = deque()
        self.bytes = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        self._items.append(text)
        self.bytes += len(text)
        while self.bytes > self.max_bytes and self._items:
            self.bytes -= len(self._items.popleft())
            self.dropped += 1

    def peek(self, count: int) -> list[str]:
        return [self._items[i] for i in range(min(count, len(self._items)))]

    def pop(self, count: int) -> None:
        for _ in range(min(count, len(self._items))):
            self.bytes -= len(self._items.popleft())

    def __len__(self) -> int:
        return len(self._items)


class NodeAgent:
    def __init__(
        self,
        node: MediaNode,
        registry: NodeRegistry,
        *,
        url: str,
        interval: float = 2.0,
        forget_after: float = 60.0,
        forward_events: bool = True,
        outbox_bytes: int = 16 * 1024 * 1024,
        placement: Placement | None = None,
        drain_seconds: float = 300.0,
        unopened_grace: float = 360.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node = node
        self.registry = registry
        self.url = url
        self.interval = interval
        self.forget_after = forget_after
        self.forward_events = forward_events
        self.outbox = EventOutbox(outbox_bytes)
        self.placement = placement
        self.drain_seconds = drain_seconds
        self.clock = clock
        self.redis_ok = False
        self.registered = False
        self._fresh = True
        self.draining = False
        self.finished = asyncio.Event()
        self.started_at = clock()
        self._cpu_mark = (time.monotonic(), time.process_time())
        self._cpu = 0.0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._drain_task: asyncio.Task[None] | None = None
        self._releases: set[str] = set()
        # A room placed here but not opened within this long is released (its joiner never connected).
        self.unopened_grace = unopened_grace
        self._pruned_at = 0.0  # rooms whose mapping to release once Redis answers

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        # CPU is measured from here: the process's start-up work is not load.
        self._cpu_mark = (time.monotonic(), time.process_time())
        self.node.add_listener(self._on_event)
        with contextlib.suppress(Exception):
            await self._beat()  # a first registration now if Redis is up; the loop retries otherwise
        self._tasks = [asyncio.create_task(self._heartbeat_loop(), name="node-heartbeat"),
                       asyncio.create_task(self._command_loop(), name="node-commands")]
        if self.forward_events:
            self._tasks.append(asyncio.create_task(self._event_loop(), name="node-events"))

    async def stop(self) -> None:
        self.node.remove_listener(self._on_event)
        for task in [*self._tasks, *([self._drain_task] if self._drain_task else [])]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.forward_events:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._push_all(), timeout=2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.registry.deregister(self.node.settings.node_id), timeout=2.0)

    async def ready(self) -> None:
        """Raise unless this node can take rooms (what `/readyz` checks)."""
        if not self.redis_ok:
            raise ConnectionError("Redis unreachable: the node cannot register")
        if self.draining:
            raise RuntimeError("draining")

    # -- drain ------------------------------------------------------------------------
    def request_drain(self) -> None:
        """SIGTERM or an operator's drain: no new rooms, move or finish the ones here, then exit."""
        if self.draining:
            return
        self.draining = True
        self._drain_task = asyncio.create_task(self._drain())
        self._wake.set()

    async def _drain(self) -> None:
        log.info("node %s draining: %d rooms", self.node.settings.node_id, len(self.node.rooms))
        with contextlib.suppress(Exception):
            await self._beat()  # tell the web nodes at once, not at the next heartbeat
        drain = getattr(self.node, "drain", None)
        # On the event loop's clock, as MediaNode.drain expects.
        deadline = asyncio.get_running_loop().time() + self.drain_seconds
        if drain is not None and self.placement is not None:
            try:
                await drain(self.placement, deadline)
            except Exception:
                log.exception("moving rooms off node %s failed; waiting for them to end", self.node.settings.node_id)
        for _tick in range(int(max(0.0, deadline - asyncio.get_running_loop().time()) / 0.5) + 1):
            if not self.node.rooms:
                break
            await asyncio.sleep(0.5)  # rooms end on their own time (people leave, the host ends)
        self.finished.set()

    # -- heartbeat --------------------------------------------------------------------
    def report(self) -> NodeReport:
        rooms = list(self.node.rooms.values())
        participants = [p for room in rooms for p in room.participants.values()]
        return NodeReport(
            id=self.node.settings.node_id,
            url=self.url,
            state=DRAINING if self.draining else SERVING,
            rooms=len(rooms),
            participants=len(participants),
            streams=sum(len(p.subscriptions) for p in participants),
            cpu=self._cpu_percent(),
            last_heartbeat=self.clock(),
            ice_hosts=self.node.settings.ice_hosts,
            room_participants={
                room.code: sum(1 for p in room.participants.values() if p.role not in _OBSERVER_ROLES)
                for room in rooms
            },
            started_at=self.started_at,
            pid=os.getpid(),
        )

    def _cpu_percent(self) -> float:
        wall, cpu = time.monotonic(), time.process_time()
        last_wall, last_cpu = self._cpu_mark
        if wall - last_wall >= 0.5:
            self._cpu = max(0.0, 100.0 * (cpu - last_cpu) / (wall - last_wall))
            self._cpu_mark = (wall, cpu)
        return self._cpu

    async def _beat(self) -> None:
        report = self.report()
        try:
            if not self.registered:
                if self._fresh:
                    await self.registry.register(report, self.forget_after)
                else:
                    # Back after an outage: keep a drain an operator asked for meanwhile.
                    await self._heartbeat(report)
                self.registered, self._fresh = True, False
                elsewhere = await self.registry.hold_rooms(report.id, list(self.node.rooms))
                if elsewhere:
                    log.error("rooms %s run here but are placed on another node", elsewhere)
            else:
                await self._heartbeat(report)
            if self.clock() - self._pruned_at > self.unopened_grace / 2:
                self._pruned_at = self.clock()
                await self.registry.release_unopened(report.id, set(self.node.rooms),
                                                     self.clock() - self.unopened_grace)
            for code in list(self._releases):
                if code not in self.node.rooms:
                    await self.registry.release_room(code, report.id)
                self._releases.discard(code)
        except Exception:
            if self.redis_ok:
                log.warning("node %s lost Redis; serving on, retrying", report.id)
            self.redis_ok = False
            # Redis may come back empty (a restart): register again, reclaiming our rooms.
            self.registered = False
            raise
        if not self.redis_ok:
            log.info("node %s registered in Redis", report.id)
        self.redis_ok = True

    async def _heartbeat(self, report: NodeReport) -> None:
        state = await self.registry.heartbeat(report, self.forget_after, new_state=report.state)
        if state == DRAINING and not self.draining:
            self.request_drain()

    async def _heartbeat_loop(self) -> None:
        while True:
            raise_if_cancelling()
            await asyncio.sleep(self.interval)
            with contextlib.suppress(Exception):
                await self._beat()

    # -- events -----------------------------------------------------------------------
    def _on_event(self, event: NodeEvent) -> None:
        if isinstance(event, RoomEnded) and event.reason != "node_closed":
            self._releases.add(event.room)
        if self.forward_events:
            self.outbox.add(event_codec.encode(event))
            self._wake.set()

    async def _push_some(self) -> int:
        batch = self.outbox.peek(200)
        if not batch:
            return 0
        async with self.registry.redis.pipeline(transaction=False) as pipe:
            for text in batch:
                pipe.xadd(self.registry.events_key, {"e": text, "node": self.node.settings.node_id},
                          maxlen=100_000, approximate=True)
            await pipe.execute()
        self.outbox.pop(len(batch))
        return len(batch)

    async def _push_all(self) -> None:
        while await self._push_some():
            pass

    async def _event_loop(self) -> None:
        while True:
            raise_if_cancelling()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()
            try:
                await self._push_all()
            except Exception:
                await asyncio.sleep(min(self.interval, 0.5))

    # -- commands ---------------------------------------------------------------------
    async def _command_loop(self) -> None:
        key, last = self.registry.commands_key(self.node.settings.node_id), "$"
        while True:
            raise_if_cancelling()
            try:
                replies: Any = await self.registry.redis.xread({key: last}, block=1000, count=50)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(min(self.interval, 0.5))
                continue
            for _stream, entries in replies or []:
                for entry_id, fields in entries:
                    last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    await self._command({_s(k): _s(v) for k, v in fields.items()})

    async def _command(self, fields: dict[str, str]) -> None:
        kind, room = fields.get("cmd"), fields.get("room", "")
        if kind == "end_room" and room:
            await asyncio.shield(self.node.spawn(self.node.end_room(room, fields.get("reason") or "ended")))
        elif kind == "forget_ended" and room:
            self.node.forget_ended(room)
        else:
            log.warning("unknown node command %r", fields)


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
