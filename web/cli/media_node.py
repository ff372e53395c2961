"""`mentorlive media-node` (run, or `drain NODE_ID`) and `mentorlive nodes`: the media tier's commands.

`--processes N` runs N media processes (default: one per core), each with its own event loop,
port (P, P+1, ...) and id (ID-1, ID-2, ...), each registered as a separate node: the parent starts
them as child processes of this same command with `--processes 1`, passes SIGTERM (drain) and
SIGINT on, and exits when they all have.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from typing import Any

from media_server import MediaNode
from media_server.agent import NodeAgent
from media_server.event_loop import new_event_loop
from media_server.placement import DRAINING, SERVING
from media_server.standalone import run_node
from web.config import Config, ensure_secret
from web.room.allocation import node_rows, placement_from_config, registry_from_config
from web.room.media_settings import settings_from_config


def add_commands(sub: Any) -> None:
    node = sub.add_parser("media-node", help="run a standalone media node (SFU only), or drain one")
    node.add_argument("action", nargs="?", choices=["drain", "undrain"],
                      help="drain NODE_ID: move its rooms away and stop it; undrain: take rooms again")
    node.add_argument("node_id", nargs="?", metavar="NODE_ID")
    node.add_argument("--host")
    node.add_argument("--port", type=int)
    node.add_argument("--id", dest="id", help="node id (default: the host name and port)")
    node.add_argument("--public-url", help="signaling URL browsers use, e.g. wss://media1.example.com/rtc; "
                                           "may contain {host} and {port}")
    node.add_argument("--processes", type=int, default=None,
                      help="media processes to run (default: the number of cores)")
    nodes = sub.add_parser("nodes", help="list the registered media nodes")
    nodes.add_argument("--json", action="store_true", help="one JSON list (id, state, url, rooms, ...)")


def media_node(config: Config, args: argparse.Namespace) -> int:
    if not config.str("redis", "url"):
        print("error: media nodes register in Redis: set MENTORLIVE_REDIS_URL", file=sys.stderr)
        return 2
    if args.action:
        if not args.node_id:
            print(f"error: media-node {args.action} needs a NODE_ID", file=sys.stderr)
            return 2
        return asyncio.run(_set_state(config, args.node_id, DRAINING if args.action == "drain" else SERVING))
    host = args.host or config.str("media", "host")
    port = config.int("media", "port") if args.port is None else args.port
    node_id = args.id or f"{socket.gethostname()}-{port}"
    url = args.public_url or config.str("media", "public_url")
    processes = args.processes if args.processes is not None else (os.cpu_count() or 1)
    if processes < 1:
        print("error: --processes must be at least 1", file=sys.stderr)
        return 2
    if not config.str("web", "secret") and not (config.var_dir / "secret.key").exists():
        # A secret made up here would match no web node's: every join token would fail.
        print("error: set MENTORLIVE_WEB_SECRET to the web nodes' [web] secret (it signs the join tokens)",
              file=sys.stderr)
        return 2
    if processes == 1:
        # The media process's loop: uvloop where installed ([media] event_loop), as `serve` does.
        with asyncio.Runner(loop_factory=lambda: new_event_loop(config.str("media", "event_loop"))) as runner:
            return runner.run(_run_one(config, host, port, node_id, url))
    if url and "{port}" not in url:
        print("error: with --processes N, --public-url must contain {port} (each process has its own)",
              file=sys.stderr)
        return 2
    return _run_many(host, port, node_id, url, processes)


async def _run_one(config: Config, host: str, port: int, node_id: str, url: str) -> int:
    config = config.with_overrides({"media": {"node_id": node_id}})
    settings = settings_from_config(config)
    node = MediaNode(settings, ensure_secret(config, "web", "secret", "secret.key"))
    registry = registry_from_config(config)
    agent = NodeAgent(
        node, registry, url="", interval=config.float("scale", "heartbeat_seconds"),
        forget_after=config.float("scale", "forget_after_seconds"),
        outbox_bytes=config.int("scale", "event_outbox_bytes"),
        placement=placement_from_config(config, registry), drain_seconds=config.float("scale", "drain_seconds"),
        # A room placed here whose join tokens all expired unused will not open: stop counting it.
        unopened_grace=config.int("sessions", "join_token_ttl_seconds") + 60.0,
    )
    try:
        await run_node(node, agent, host, port, url_template=url)
    finally:
        await registry.redis.aclose()
    return 0


def _run_many(host: str, port: int, node_id: str, url: str, processes: int) -> int:
    children: list[subprocess.Popen[bytes]] = []
    for index in range(processes):
        command = [sys.executable, "-m", "web.cli", "media-node", "--processes", "1", "--host", host,
                   "--port", str(port + index if port else 0), "--id", f"{node_id}-{index + 1}"]
        if url:
            command += ["--public-url", url]
        children.append(subprocess.Popen(command))

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, default=0)


async def _set_state(config: Config, node_id: str, state: str) -> int:
    registry = registry_from_config(config)
    try:
        found = await registry.set_state(node_id, state)
    finally:
        await registry.redis.aclose()
    if not found:
        print(f"error: no media node {node_id!r} is registered", file=sys.stderr)
        return 1
    print(f"Node {node_id} is {state}." + (" It moves its rooms away and then exits." if state == DRAINING else ""))
    return 0


def nodes(config: Config, as_json: bool) -> int:
    if not config.str("redis", "url"):
        print("error: no registry without Redis: set MENTORLIVE_REDIS_URL "
              "(without it, `serve` runs its own embedded node)", file=sys.stderr)
        return 2
    rows = asyncio.run(node_rows(config))
    if as_json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("No media nodes registered.")
        return 0
    header = f"{'ID':<24} {'STATE':<9} {'ROOMS':>5} {'PEOPLE':>6} {'STREAMS':>7} {'CPU%':>5} {'LAST':>6}  URL"
    print(header)
    for row in rows:
        print(f"{row['id']:<24} {row['state']:<9} {row['rooms']:>5} {row['participants']:>6} {row['streams']:>7} "
              f"{row['cpu']:>5.1f} {row['seconds_since_heartbeat']:>5.1f}s  {row['url'] or '(same origin)'}")
    return 0
