"""The Redis-backed `Placement`: choose a node with `choose_node`, record room -> node once.

Under the room's short lock the current mapping is read; a room already on a live node stays
there (everyone of a room meets on one node), unless that node is the one to `exclude` (a drain
moving the room away). Otherwise the selector picks a node and the mapping changes by
compare-and-set from what was read, so even a lock that expired under a stalled web node cannot
place one room on two nodes: the loser's write fails and it returns the winner's node.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from media_server.placement import Limits, NodePlacement, NodeReport, choose_node
from media_server.registry import NodeRegistry


class RedisPlacement:
    def __init__(
        self,
        registry: NodeRegistry,
        limits: Limits,
        *,
        lock_ttl: float = 5.0,
        lock_wait: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait
        self.clock = clock

    async def place(self, room_code: str, exclude: str | None = None) -> NodePlacement:
        async with self.registry.room_lock(room_code, self.lock_ttl, self.lock_wait):
            for _attempt in range(3):
                nodes = {n.id: n for n in await self.registry.nodes()}
                current = await self.registry.room_node(room_code)
                now = self.clock()
                found = nodes.get(current) if current else None
                if found is not None and current != exclude and found.alive(now, self.limits.dead_after):
                    return _placement(found)
                chosen = choose_node(nodes.values(), now, self.limits, exclude)
                if await self.registry.cas_room(room_code, current or "", chosen.id):
                    return _placement(chosen)
        # Three lost races in a row under our own lock: someone else keeps moving it; take theirs.
        winner = await self.registry.room_node(room_code)
        nodes = {n.id: n for n in await self.registry.nodes()}
        if winner in nodes:
            return _placement(nodes[winner])
        return _placement(choose_node(nodes.values(), self.clock(), self.limits, exclude))

    async def current(self, room_code: str) -> NodePlacement | None:
        """Where the room is placed now, if that node is alive (no choice made, no lock)."""
        node_id = await self.registry.room_node(room_code)
        if node_id is None:
            return None
        for node in await self.registry.nodes():
            if node.id == node_id and node.alive(self.clock(), self.limits.dead_after):
                return _placement(node)
        return None


def _placement(node: NodeReport) -> NodePlacement:
    return NodePlacement(node_id=node.id, url=node.url)
