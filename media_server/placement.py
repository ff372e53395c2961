"""Where a room runs: the placement interface and the pure node selector.

`Placement.place(room, exclude)` chooses a media node for a room and records the choice (the
Redis-backed one is web.room.allocation.RedisPlacement; a drain passes its own node as `exclude`).
`choose_node` is the rule it applies, pure over the nodes' last reports and an injected `now`:
dead (silent longer than the timeout) and draining nodes are out, so are nodes at `max_rooms`
or `max_participants`; of the rest the least loaded wins, by forwarded streams first and CPU next
(LiveKit's selector orders the same way: the forwarding work is what a room adds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class NodePlacement:
    node_id: str
    url: str


class Placement(Protocol):
    async def place(self, room_code: str, exclude: str | None = None) -> NodePlacement:
        """Choose and record a node for this room, never `exclude`."""
        ...


# -- below: this branch's additions ----------------------------------------------------------

SERVING = "serving"
CPU_STEP = 25.0
DRAINING = "draining"


class NoNodeAvailable(Exception):
    """Every known node is dead, draining or full."""


@dataclass(frozen=True)
class NodeReport:
    """A node's registration as last heartbeated (the registry's hash, decoded)."""

    id: str
    url: str
    state: str = SERVING
    rooms: int = 0
    participants: int = 0
    streams: int = 0
    cpu: float = 0.0
    last_heartbeat: float = 0.0  # epoch seconds of the node's last heartbeat
    ice_hosts: tuple[str, ...] = ()
    # Room code -> participants who count (observers excluded): the web node's empty-room check reads it.
    room_participants: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0
    pid: int = 0

    def alive(self, now: float, dead_after: float) -> bool:
        return now - self.last_heartbeat <= dead_after

    def status(self, now: float, dead_after: float) -> str:
        """What an operator reads: `serving`, `draining` or `dead`."""
        return self.state if self.alive(now, dead_after) else "dead"


@dataclass(frozen=True)
class Limits:
    max_rooms: int = 0  # 0: no limit
    max_participants: int = 0  # 0: no limit
    dead_after: float = 5.0


def eligible(node: NodeReport, now: float, limits: Limits, exclude: str | None = None) -> bool:
    if node.id == exclude or node.state != SERVING or not node.alive(now, limits.dead_after):
        return False
    if limits.max_rooms and node.rooms >= limits.max_rooms:
        return False
    return not (limits.max_participants and node.participants >= limits.max_participants)


def choose_node(nodes: Iterable[NodeReport], now: float, limits: Limits, exclude: str | None = None) -> NodeReport:
    """The least loaded live serving node with room to spare; NoNodeAvailable when there is none."""
    candidates = [n for n in nodes if eligible(n, now, limits, exclude)]
    if not candidates:
        raise NoNodeAvailable("no media node can take a room: all are dead, draining or full")
    # CPU counts in steps of CPU_STEP percent, so an idle node's noise does not decide; ties (an idle
    # deployment) go to the node with fewer rooms, then by id so the choice is stable.
    return min(candidates, key=lambda n: (n.streams, int(n.cpu // CPU_STEP), n.rooms, n.participants, n.id))
