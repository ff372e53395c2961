"""Media nodes as real processes (`python -m web.cli media-node`) on loopback, registered in a real Redis.

Each test gets its own key prefix on the shared Redis (127.0.0.1:6379), so tests running in parallel never
see each other's nodes; the outage test starts a private redis-server on a random port instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis.asyncio import Redis

from media_server.placement import CPU_STEP, NodeReport
from media_server.registry import NodeRegistry
from web.config import PROJECT_ROOT

SHARED_REDIS = "redis://127.0.0.1:6379/0"
SECRET = "test-secret-not-for-production"
# Short intervals keep the tests quick (production defaults are in config.toml [scale]); the death timeout
# keeps room for a loaded 2-core machine, where a heartbeat may be late by a second or two.
HEARTBEAT = 0.5
DEAD_AFTER = 4.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NodeProcess:
    node_id: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """Starts media node processes sharing one Redis and one key prefix."""

    redis_url: str
    prefix: str
    tmp: Path
    registry: NodeRegistry
    extra_env: dict[str, str] = field(default_factory=dict)
    nodes: list[NodeProcess] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORLIVE_")}
        env.update({
            "MENTORLIVE_REDIS_URL": self.redis_url,
            "MENTORLIVE_WEB_SECRET": SECRET,
            "MENTORLIVE_SCALE_KEY_PREFIX": self.prefix,
            "MENTORLIVE_SCALE_HEARTBEAT_SECONDS": str(HEARTBEAT),
            "MENTORLIVE_SCALE_DEAD_AFTER_SECONDS": str(DEAD_AFTER),
            "MENTORLIVE_SCALE_DRAIN_SECONDS": "20",
            "MENTORLIVE_MEDIA_ICE_HOSTS": "127.0.0.1",
            "MENTORLIVE_RECORDINGS_DIR": str(self.tmp / "recordings"),
            "MENTORLIVE_DATABASE_URL": f"sqlite+aiosqlite:///{self.tmp / 'unused.db'}",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def start(self, node_id: str, *args: str) -> NodeProcess:
        log = self.tmp / f"{node_id}.log"
        command = [sys.executable, "-m", "web.cli", "media-node", "--host", "127.0.0.1", "--port", "0",
                   "--id", node_id, *(args or ("--processes", "1"))]
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        node = NodeProcess(node_id, process, log)
        self.nodes.append(node)
        return node

    async def wait_registered(self, *node_ids: str, within: float = 90.0) -> dict[str, NodeReport]:
        deadline = time.monotonic() + within
        while True:
            found = {n.id: n for n in await self.registry.nodes() if n.id in node_ids}
            if len(found) == len(node_ids):
                for node in self.nodes:
                    if node.node_id in found:
                        node.url = found[node.node_id].url
                return found
            for node in self.nodes:
                if node.process.poll() is not None and node.node_id in node_ids:
                    raise AssertionError(f"node {node.node_id} exited: {node.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nodes {node_ids} did not register; logs: "
                                     + " | ".join(n.output()[-2000:] for n in self.nodes))
            await asyncio.sleep(0.1)

    async def launch(self, *node_ids: str) -> dict[str, NodeReport]:
        for node_id in node_ids:
            self.start(node_id)
        await self.wait_registered(*node_ids)
        return await self.wait_idle(*node_ids)

    async def wait_idle(self, *node_ids: str, within: float = 20.0) -> dict[str, NodeReport]:
        """Until every node reports CPU below the selector's step: a node still starting up would look loaded."""
        deadline = time.monotonic() + within
        while True:
            found = {n.id: n for n in await self.registry.nodes() if n.id in node_ids}
            if len(found) == len(node_ids) and all(n.cpu < CPU_STEP for n in found.values()):
                return found
            assert time.monotonic() < deadline, f"nodes never idle: {found}"
            await asyncio.sleep(0.2)

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGINT)
        for node in self.nodes:
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()


async def _drop_prefix(redis: Redis, prefix: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
def scale_prefix() -> str:
    return f"mentorlive:test:scale:{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def cluster(tmp_path: Path, scale_prefix: str) -> AsyncIterator[Cluster]:
    redis = Redis.from_url(SHARED_REDIS)
    made = Cluster(SHARED_REDIS, scale_prefix, tmp_path, NodeRegistry(redis, scale_prefix))
    try:
        yield made
    finally:
        made.stop_all()
        await _drop_prefix(redis, scale_prefix)
        await redis.aclose()


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own (never the shared one): it may be stopped and started at will."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server must be installed for the Redis outage test"
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = PrivateRedis(port, process)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield server
    server.resume()
    process.terminate()
    process.wait(timeout=10)
