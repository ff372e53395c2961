"""The benchmark's SFU as operators run it: `mentorlive media-node --processes P` behind a private Redis.

`media-node` registers each of its P child processes as a node in Redis (the scale-out registry), so
the benchmark starts a redis-server of its own on loopback (never a shared one: `--save ""`, no
persistence, a random port), runs the real command, and places its rooms with the product's own
placement (`RedisPlacement`, the one a web node's join uses): the least loaded live node takes
each room, so two rooms on two idle processes land one per process. Each room's load client then
gets what a browser gets from a join: the node's `/rtc` URL and a join token naming that node.

Placement runs as `python -m bench.sfu_forwarding_nodes place ...` in the same network namespace as
the nodes (with `--netns`, Redis listens on the namespace's own loopback); it waits until P nodes
serve, places the rooms and prints one JSON line: `{"nodes": {id: pid}, "rooms": [{room, node, url,
pid}]}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import exceptions as redis_errors

from media_server.placement import SERVING
from web.config import load_config
from web.room.allocation import placement_from_config, registry_from_config

NODE_ID = "bench"
ROOM_PREFIX = "bench-"


@dataclass(frozen=True)
class PlacedRoom:
    """Where one room's load client connects, and the SFU process that serves it."""

    room: str
    node: str
    url: str
    pid: int


def room_codes(rooms: int) -> list[str]:
    return [f"{ROOM_PREFIX}{i + 1}" for i in range(rooms)]


def redis_command(port: int, folder: Path) -> list[str]:
    """A throwaway Redis on loopback: no snapshots, no append-only file."""
    return [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]


def media_node_command(python: str, processes: int) -> list[str]:
    """The operator's command, on an ephemeral port per process (each child binds port 0)."""
    return [
        python,
        "-m",
        "web.cli",
        "media-node",
        "--processes",
        str(processes),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--id",
        NODE_ID,
    ]


def node_environment(
    base: Mapping[str, str],
    *,
    redis_url: str,
    secret: str,
    ice_host: str,
    forwarding: str,
    event_loop: str,
    data_dir: Path,
) -> dict[str, str]:
    """The operator's settings for the run, all through MENTORLIVE_* variables (config.toml untouched)."""
    return {
        **base,
        "MENTORLIVE_REDIS_URL": redis_url,
        "MENTORLIVE_WEB_SECRET": secret,
        "MENTORLIVE_MEDIA_ICE_HOSTS": json.dumps([ice_host]),
        "MENTORLIVE_MEDIA_FORWARDING": forwarding,
        "MENTORLIVE_MEDIA_EVENT_LOOP": event_loop,
        "MENTORLIVE_PATHS_DATA_DIR": str(data_dir),
    }


def parse_placement(line: str) -> tuple[dict[str, int], list[PlacedRoom]]:
    data = json.loads(line)
    return {str(k): int(v) for k, v in data["nodes"].items()}, [PlacedRoom(**r) for r in data["rooms"]]


async def own_redis(registry: Any, folder: str, deadline: float) -> None:
    """Wait for the benchmark's Redis; refuse any other server that answers on its port."""
    while True:
        try:
            found = await registry.redis.config_get("dir")
            break
        except (redis_errors.RedisError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    if found.get("dir") != folder and found.get(b"dir") != folder.encode():
        raise RuntimeError(f"the Redis on the benchmark's port is not its own (dir {found})")


async def place(redis_url: str, folder: str, processes: int, rooms: int, wait_seconds: float) -> dict[str, Any]:
    config = load_config(overrides={"redis": {"url": redis_url}})
    registry = registry_from_config(config)
    placement = placement_from_config(config, registry)
    deadline = time.monotonic() + wait_seconds
    try:
        await own_redis(registry, folder, deadline)
        while True:
            nodes = [n for n in await registry.nodes() if n.state == SERVING and n.pid]
            if len(nodes) >= processes:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(nodes)} of {processes} media processes registered within {wait_seconds:g} s")
            await asyncio.sleep(0.2)
        pids = {n.id: n.pid for n in nodes}
        placed = []
        for code in room_codes(rooms):
            chosen = await placement.place(code)
            placed.append({"room": code, "node": chosen.node_id, "url": chosen.url, "pid": pids[chosen.node_id]})
        return {"nodes": pids, "rooms": placed}
    finally:
        await registry.redis.aclose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["place"])
    parser.add_argument("--redis", required=True)
    parser.add_argument("--folder", required=True, help="the private Redis's --dir, to recognise it")
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--rooms", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(place(args.redis, args.folder, args.processes, args.rooms, args.timeout))), flush=True)


def free_port() -> int:
    """A port free on the host's loopback (and so in a fresh namespace's too)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
