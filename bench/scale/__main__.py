"""Media nodes at scale: the media gap of a live room's move on drain and on node death, rooms per node, join latency.

    .venv/bin/python -m bench.scale                       # 20 drain + 20 death migrations, 8 rooms
    .venv/bin/python -m bench.scale --quick               # 5 + 5, 4 rooms
    .venv/bin/python -m bench.scale --death-timeout 2     # how long a silent node takes to be declared dead

Media nodes run in this process, each its own aiohttp app (the real `/rtc` and room handover
endpoint) on a loopback port; participants are real aiortc peers (media_server.testing.client)
sending a 30 fps VP8 clip. Each migration is one room of two publishers:

- drain: the room's node drains (`MediaNode.drain`) to the other node; both clients follow
  `migrate` make-before-break;
- death: the room's node is killed (its sockets cut, nothing said); each client fails to resume,
  asks the "web node" for a fresh grant, which answers once the node is declared dead
  (`--death-timeout` after the kill: the registry's heartbeat timeout) with a token for the other
  node, and joins there.

The media gap is, per direction, the longest pause between two received frames of the other's
camera around the move (death: last frame from the old node to the first from the new one).
The baseline, measured in the same run, is the same statistic over an equally long window of a
room that does not move (the clip's own frame spacing plus jitter); ratios are against it.

Rooms per node and join latency go through a `Placement` (media_server.placement): the in-process
least-loaded one here; `--placement module:factory` takes another (e.g. a Redis-backed one). Join
latency is place + token + signaling join + first frame received. Writes docs/bench/scale.md and
scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import itertools
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from media_server.placement import NodePlacement, Placement
from media_server.settings import MediaSettings
from media_server.testing.client import Received, SfuClient
from media_server.testing.nodes import OtherNode, RunningNode, start_node, token
from media_server.testing.synthetic import ClipTrack, encode_vp8_clip

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-scale-secret"
TARGETS = {"drain": 3.0, "death": 8.0}


@dataclass
class Series:
    name: str
    gaps: list[float] = field(default_factory=list)
    failures: int = 0

    def pct(self, q: float) -> float:
        if not self.gaps:
            return float("nan")
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Scale:
    rooms: int
    per_node: dict[str, int]
    join_ms: list[float]
    placement: str


def longest_pause(arrivals: list[float], start: float, end: float) -> float:
    times = [t for t in arrivals if start <= t <= end]
    return max((b - a for a, b in itertools.pairwise(times)), default=float("inf"))


def camera(clip: list[bytes]) -> ClipTrack:
    return ClipTrack("video", clip, fps=30, clock_rate=90000)


def other_camera(client: SfuClient, participant_id: str | None) -> Received | None:
    return next((r for r in client.received.values() if r.participant_id == participant_id), None)


def receiving(client: SfuClient) -> bool:
    return any(r.count > 0 for r in client.received.values())


def all_moved(clients: list[SfuClient]) -> bool:
    return all(bool(c.moves) and c.moves[-1].completed for c in clients)


def hears(me: SfuClient, other: SfuClient) -> bool:
    received = other_camera(me, other.participant_id)
    return received is not None and received.count > 0


async def until(check: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def pair(
    node: RunningNode,
    room: str,
    clip: list[bytes],
    recover: Callable[[str], Callable[[], Awaitable[tuple[str, str]]]] | None = None,
) -> list[SfuClient]:
    clients = []
    for user in ("u1", "u2"):
        client = SfuClient(node.url, token(SECRET, node, user, room=room), recover=recover(user) if recover else None)
        await client.connect({"camera": camera(clip)})
        clients.append(client)
    await until(lambda: all(any(r.count > 30 for r in c.received.values()) for c in clients), 15)
    return clients


async def close_all(clients: list[SfuClient]) -> None:
    for client in clients:
        await client.leave()


async def baseline(node: RunningNode, clip: list[bytes], rounds: int, window: float) -> Series:
    series = Series("no move (baseline)")
    for i in range(rounds):
        clients = await pair(node, f"base{i}", clip)
        start = time.time()
        await asyncio.sleep(window)
        for me, other in ((clients[0], clients[1]), (clients[1], clients[0])):
            received = other_camera(me, other.participant_id)
            series.gaps.append(longest_pause(received.arrivals if received else [], start, time.time()))
        await close_all(clients)
    return series


async def drains(nodes: list[RunningNode], clip: list[bytes], count: int) -> Series:
    series = Series("drain")
    placement = OtherNode(nodes)
    for i in range(count):
        source = nodes[i % 2]
        source.node.draining = False
        clients = await pair(source, f"drain{i}", clip)
        began = time.time()
        loop = asyncio.get_running_loop()
        await source.node.drain(placement, loop.time() + 10)
        source.node.draining = False
        moved = all(c.moves and c.moves[-1].completed for c in clients)
        await asyncio.sleep(1.0)  # frames flowing on the new node close the window
        for me, other in ((clients[0], clients[1]), (clients[1], clients[0])):
            received = other_camera(me, other.participant_id)
            gap = longest_pause(received.arrivals if received else [], began - 0.5, time.time())
            if moved and gap != float("inf"):
                series.gaps.append(gap)
            else:
                series.failures += 1
        await close_all(clients)
    return series


async def deaths(
    survivor: RunningNode, settings: MediaSettings, clip: list[bytes], count: int, death_timeout: float
) -> Series:
    series = Series(f"death (declared after {death_timeout:g} s)")
    for i in range(count):
        victim = await start_node(f"victim{i}", SECRET, settings)
        dead = asyncio.Event()
        room = f"death{i}"

        def web_node(
            user: str, room: str = room, dead: asyncio.Event = dead
        ) -> Callable[[], Awaitable[tuple[str, str]]]:
            async def grant() -> tuple[str, str]:
                await dead.wait()  # the web node re-allocates once the registry declares the node dead
                return survivor.url, token(SECRET, survivor, user, room=room)

            return grant

        clients = await pair(victim, room, clip, recover=web_node)
        old_ids = [c.participant_id for c in clients]
        killed = time.time()
        await victim.kill()
        asyncio.get_running_loop().call_later(death_timeout, dead.set)
        ok = await until(functools.partial(all_moved, clients), death_timeout + 20)
        for me, other, old_other in ((clients[0], clients[1], old_ids[1]), (clients[1], clients[0], old_ids[0])):
            before = other_camera(me, old_other)
            await until(functools.partial(hears, me, other), 10)
            after = other_camera(me, other.participant_id)
            last = max((t for t in (before.arrivals if before else []) if t <= killed + 0.5), default=None)
            if ok and last is not None and after is not None and after.first_at is not None:
                series.gaps.append(after.first_at - last)
            else:
                series.failures += 1
        await close_all(clients)
    return series


class LeastRooms:
    """The in-process placement: the node with the fewest rooms (a registry's selector, minus CPU and limits)."""

    def __init__(self, nodes: list[RunningNode]) -> None:
        self.nodes = nodes

    async def place(self, room_code: str, exclude: str | None = None) -> NodePlacement:
        for running in self.nodes:
            if room_code in running.node.rooms:
                return running.placement
        candidates = [n for n in self.nodes if n.node_id != exclude and not n.node.draining]
        return min(candidates, key=lambda n: len(n.node.rooms)).placement


def load_placement(spec: str | None, nodes: list[RunningNode]) -> tuple[Placement, str]:
    if not spec:
        return LeastRooms(nodes), "in-process least rooms"
    module, _, name = spec.partition(":")
    factory = getattr(importlib.import_module(module), name)
    return factory(nodes), spec


async def rooms_and_joins(nodes: list[RunningNode], clip: list[bytes], rooms: int, spec: str | None) -> Scale:
    placement, label = load_placement(spec, nodes)
    by_id = {n.node_id: n for n in nodes}
    clients: list[SfuClient] = []
    joins: list[float] = []
    for i in range(rooms):
        room = f"load{i}"
        first = None
        for user in ("u1", "u2"):
            started = time.monotonic()
            where = await placement.place(room)
            client = SfuClient(where.url, token(SECRET, by_id[where.node_id], user, room=room))
            await client.connect({"camera": camera(clip)})
            clients.append(client)
            if first is None:
                first = client
                joins.append((time.monotonic() - started) * 1000)  # alone: join only
            else:
                await until(functools.partial(receiving, client), 15)
                joins.append((time.monotonic() - started) * 1000)  # with media: join + first frame
    per_node = {n.node_id: len(n.node.rooms) for n in nodes}
    await close_all(clients)
    return Scale(rooms, per_node, joins, label)


def table(base: Series, series: list[Series]) -> str:
    ref = base.pct(0.5)
    lines = [
        "| move | samples | failed | gap p50 (ms) | gap p95 (ms) | p95 / baseline p95 | target p95 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in [base, *series]:
        key = s.name.split()[0]
        target = f"< {TARGETS[key] * 1000:.0f} ms" if key in TARGETS else "–"
        ratio = s.pct(0.95) / base.pct(0.95) if base.gaps else float("nan")
        lines.append(
            f"| {s.name} | {len(s.gaps)} | {s.failures} | {s.pct(0.5) * 1000:.0f} | {s.pct(0.95) * 1000:.0f} "
            f"| {ratio:.1f}x | {target} |"
        )
    lines.append(
        f"\nBaseline p50 {ref * 1000:.0f} ms: the longest pause between two frames of a 30 fps camera in a "
        "room that does not move, over the same window."
    )
    return "\n".join(lines)


def scale_table(scale: Scale) -> str:
    joins = sorted(scale.join_ms)
    p50 = statistics.median(joins) if joins else float("nan")
    p95 = joins[min(len(joins) - 1, round(0.95 * (len(joins) - 1)))] if joins else float("nan")
    spread = ", ".join(f"{k}: {v}" for k, v in scale.per_node.items())
    return (
        "| rooms | placement | rooms per node | join p50 (ms) | join p95 (ms) |\n| --- | --- | --- | --- | --- |\n"
        f"| {scale.rooms} | {scale.placement} | {spread} | {p50:.0f} | {p95:.0f} |"
    )


async def bench(args: argparse.Namespace) -> None:
    clip = encode_vp8_clip(90)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        settings = MediaSettings(ice_hosts=("127.0.0.1",), recordings_dir=Path(tmp), quality_interval=1.0)
        nodes = [await start_node("node-a", SECRET, settings), await start_node("node-b", SECRET, settings)]
        try:
            base = await baseline(nodes[0], clip, max(2, args.migrations // 4), 3.0)
            print(f"baseline done: {len(base.gaps)} samples")
            drain = await drains(nodes, clip, args.migrations)
            print(f"drain done: {len(drain.gaps)} samples, {drain.failures} failed")
            death = await deaths(nodes[1], settings, clip, args.migrations, args.death_timeout)
            print(f"death done: {len(death.gaps)} samples, {death.failures} failed")
            for n in nodes:
                n.node.draining = False
            scale = await rooms_and_joins(nodes, clip, args.rooms, args.placement)
        finally:
            for n in nodes:
                await n.stop()
    result = table(base, [drain, death]) + "\n\n" + scale_table(scale)
    print(result)
    if args.no_write:
        return
    out = ROOT / "docs" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpus": _cpus(),
        "migrations": args.migrations,
        "death_timeout": args.death_timeout,
    }
    (out / "scale.json").write_text(
        json.dumps(
            {"meta": meta, "series": [asdict(s) for s in (base, drain, death)], "scale": asdict(scale)}, indent=1
        )
        + "\n"
    )
    (out / "scale.md").write_text(
        "# bench/scale: migration media gap, rooms per node, join latency\n\n"
        f"`python -m bench.scale` ({args.migrations} migrations each, death timeout {args.death_timeout:g} s; "
        f"{meta['cpus']} CPUs, Python {meta['python']}). Method: bench/scale/__main__.py docstring.\n\n"
        + result
        + "\n\n"
        "The death gap is the death timeout (the registry's heartbeat silence before a node counts as dead) plus "
        "a resume attempt, a fresh grant and a join. What would shorten it: a shorter heartbeat timeout (more "
        "false deaths under load), clients reporting a node's loss to the web node at once (a vote instead of "
        "waiting for the heartbeat), or a standby room pre-allocated on a second node so a client can rejoin "
        "without waiting for the declaration.\n"
    )


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrations", type=int, default=20, help="migrations per kind (drain, death)")
    parser.add_argument("--death-timeout", type=float, default=5.0, help="seconds before a silent node is dead")
    parser.add_argument("--rooms", type=int, default=8, help="rooms placed for rooms-per-node and join latency")
    parser.add_argument("--placement", help="module:factory(nodes) returning a Placement (default: in-process)")
    parser.add_argument("--quick", action="store_true", help="5 migrations each, 4 rooms")
    parser.add_argument("--no-write", action="store_true", help="print only; keep docs/bench as they are")
    args = parser.parse_args()
    if args.quick:
        args.migrations, args.rooms = 5, 4
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
