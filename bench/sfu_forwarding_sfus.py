"""Starting the SFU under test for one point, and saying where each room's load client connects.

- the bench server (bench.sfu_forwarding_server): media_server or the relay in one process, with a
  stats URL; every room on it;
- `mentorlive media-node --processes P` (bench.sfu_forwarding_nodes): the operator's command behind a
  private Redis, rooms placed by the product's placement, CPU read from every child process;
- Janus (its VideoRoom; each room's load client creates its own room).

Each yields an `Sfu`: the processes whose CPU is the SFU's, and one `Target` per room.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import sfu_forwarding_budget as budget
from bench.sfu_forwarding_nodes import (
    free_port,
    media_node_command,
    node_environment,
    parse_placement,
    redis_command,
    room_codes,
)

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """Where one room's load client connects: a /rtc URL (or the port of the bench server or Janus)."""

    room: str
    node: str
    url: str
    port: int
    pid: int


@dataclass(frozen=True)
class Sfu:
    targets: list[Target]
    pids: list[int]  # every process whose CPU is the SFU's, in node order
    secret: str
    path: str
    signaling: str  # "rtc" or "janus"


class Launcher:
    def __init__(
        self,
        wrap: Callable[[list[str]], list[str]],
        host: str,
        event_loop: str,
        janus_folder: Path | None,
        media_node: bool,
        cpu_budget: float | None = None,
    ) -> None:
        self.wrap = wrap
        self.cpu_budget = cpu_budget
        self.host = host
        self.event_loop = event_loop
        self.janus_folder = janus_folder
        self.media_node = media_node

    @contextlib.contextmanager
    def start(self, mode: str, rooms: int, processes: int) -> Iterator[Sfu]:
        """The SFU for one point; with a CPU budget, each of its processes capped at that share of a core."""
        with self._start(mode, rooms, processes) as sfu, budget.limited(sfu.pids, self.cpu_budget):
            yield dataclasses.replace(sfu, path=sfu.path + budget.label(self.cpu_budget))

    @contextlib.contextmanager
    def _start(self, mode: str, rooms: int, processes: int) -> Iterator[Sfu]:
        if mode == "janus":
            with self._janus(rooms) as sfu:
                yield sfu
        elif self.media_node or processes > 1:
            with self._media_node(mode, rooms, processes) as sfu:
                yield sfu
        else:
            with self._bench_server(mode, rooms) as sfu:
                yield sfu

    @contextlib.contextmanager
    def _bench_server(self, mode: str, rooms: int) -> Iterator[Sfu]:
        secret = secrets.token_hex(16)  # hex: never starts with "-", which argparse would misread
        env = {**os.environ, "MENTORLIVE_MEDIA_FORWARDING": forwarding(mode)}
        argv = [
            sys.executable,
            "-m",
            "bench.sfu_forwarding_server",
            "--mode",
            "relay" if mode == "relay" else "passthrough",
            "--secret",
            secret,
            "--ice-host",
            self.host,
            "--event-loop",
            self.event_loop,
        ]
        server = subprocess.Popen(self.wrap(argv), cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert server.stdout is not None
            line = server.stdout.readline().split(maxsplit=2)
            if len(line) < 3 or line[0] != "READY":
                raise RuntimeError(f"SFU process did not start ({line})")
            running = json.loads(line[2])
            port, node = int(line[1]), str(running.get("node", "local"))
            yield Sfu(
                targets=[Target(code, node, "", port, server.pid) for code in room_codes(rooms)],
                pids=[server.pid],
                secret=secret,
                path=f"{running['forwarding']} / {running['loop']}",
                signaling="rtc",
            )
        finally:
            stop(server)

    @contextlib.contextmanager
    def _media_node(self, mode: str, rooms: int, processes: int) -> Iterator[Sfu]:
        secret = secrets.token_hex(16)
        with tempfile.TemporaryDirectory(prefix="mentorlive-bench-node-") as folder:
            port = free_port()
            redis_url = f"redis://127.0.0.1:{port}/0"
            redis = subprocess.Popen(
                self.wrap(redis_command(port, Path(folder))), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            env = node_environment(
                os.environ,
                redis_url=redis_url,
                secret=secret,
                ice_host=self.host,
                forwarding=forwarding(mode),
                event_loop=self.event_loop,
                data_dir=Path(folder) / "data",
            )
            log_path = Path(folder) / "media-node.log"
            children: dict[str, int] = {}
            with log_path.open("w") as log:
                node = subprocess.Popen(
                    self.wrap(media_node_command(sys.executable, processes)),
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                placed = subprocess.run(
                    self.wrap(
                        [
                            sys.executable,
                            "-m",
                            "bench.sfu_forwarding_nodes",
                            "place",
                            "--redis",
                            redis_url,
                            "--folder",
                            folder,
                            "--processes",
                            str(processes),
                            "--rooms",
                            str(rooms),
                        ]
                    ),
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=180,
                )
                if placed.returncode != 0:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(
                        f"media-node placement failed:\n{placed.stderr[-2000:]}\nmedia-node log:\n{tail}"
                    )
                children, placed_rooms = parse_placement(placed.stdout.strip().splitlines()[-1])
                yield Sfu(
                    targets=[Target(r.room, r.node, r.url, 0, r.pid) for r in placed_rooms],
                    pids=[children[node_id] for node_id in sorted(children)],
                    secret=secret,
                    path=f"{forwarding(mode)} / {self.event_loop}, media-node ×{processes}",
                    signaling="rtc",
                )
            except BaseException:
                stop_media_node(node, list(children.values()))
                # The nodes' own log (joins, ICE, media restarts) outlives the failed point, for a look.
                kept = Path(tempfile.gettempdir()) / f"mentorlive-bench-media-node-{int(time.time())}.log"
                shutil.copyfile(log_path, kept)
                print(f"media-node log kept in {kept}", file=sys.stderr, flush=True)
                raise
            finally:
                stop_media_node(node, list(children.values()))
                stop(redis)

    @contextlib.contextmanager
    def _janus(self, rooms: int) -> Iterator[Sfu]:
        from bench.sfu_forwarding_janus import write_config

        assert self.janus_folder is not None
        port = 20000 + secrets.randbelow(20000)
        folder = write_config(self.janus_folder, ws_port=port, media_address=self.host, rtp_ports=(40000, 60000))
        log = folder / "janus.log"
        process = subprocess.Popen(
            self.wrap(["janus", "-F", str(folder), "-L", str(log), "-N", "-o"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while "Websockets server started" not in (log.read_text(errors="replace") if log.exists() else ""):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise RuntimeError(f"Janus did not start:\n{tail}")
                time.sleep(0.1)
            yield Sfu(
                targets=[Target(code, "", "", port, process.pid) for code in room_codes(rooms)],
                pids=[process.pid],
                secret="",
                path="VideoRoom / C",
                signaling="janus",
            )
        finally:
            stop(process)


def forwarding(mode: str) -> str:
    return "raw" if mode == "raw" else "frames"


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def stop_media_node(node: subprocess.Popen[Any], children: list[int]) -> None:
    """SIGINT (stop now; SIGTERM would drain), passed on to the children; a kill for any that lingers."""
    node.send_signal(signal.SIGINT)
    try:
        node.wait(20)
    except subprocess.TimeoutExpired:
        node.kill()
        node.wait(5)
    for pid in children:
        if pid != node.pid and b"media-node" in _cmdline(pid):  # still ours, not a reused pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
