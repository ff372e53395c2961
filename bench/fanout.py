"""Notification fan-out: delivery latency and memory per socket through `/ws`.

    .venv/bin/python -m bench.fanout            # 100 and 1,000 clients, 100 events each
    .venv/bin/python -m bench.fanout --quick    # 20 events each

For each bus (InProcessBus, and RedisBus when Redis answers) a server process runs the real
hub (`setup_realtime`) on a SQLite database; this process opens the WebSocket clients, all
subscribed to one channel, and asks the server to publish. Each event carries its send time
(wall clock, shared by both processes on one machine); latency is receive time minus send
time at the client. Memory per socket is the server's RSS growth while the clients connect
and subscribe, divided by their number. Writes docs/bench/fanout.md and fanout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "sessions:bench-room"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


# ---- the server process ----------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def _serve(bus_kind: str, port: int, redis_url: str) -> None:
    from aiohttp_session import setup as setup_session
    from aiohttp_session.cookie_storage import EncryptedCookieStorage

    from models.clock import SystemClock
    from models.db import Database
    from web.config import load_config
    from web.http.identity import remember
    from web.keys import CLOCK, CONFIG, DB, SECRET
    from web.realtime import endpoints as realtime_endpoints
    from web.realtime.bus import EventBus
    from web.realtime.keys import BUS, HUB
    from web.realtime.redis_bus import RedisBus
    from web.realtime.setup import history_policy, setup_realtime

    config = load_config(environ={}, overrides={"hub": {"send_queue_size": 1024}})
    prefix = f"bench:fanout:{uuid.uuid4().hex}:"
    bus: EventBus | None = None
    if bus_kind == "redis":
        bus = RedisBus.from_url(redis_url, prefix=prefix, policy=history_policy(config))
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.create_all()
        # Sign-ins are rows in auth_sessions, which name a real user.
        from datetime import UTC, datetime

        from models.tables import User

        async with db.session() as s:
            s.add(
                User(
                    id=1,
                    email="bench@example.com",
                    password_hash="-",
                    name="Bench",
                    role="admin",
                    created_at=datetime.now(UTC),
                )
            )
            await s.commit()
        app = web.Application()
        app[CONFIG], app[CLOCK], app[DB], app[SECRET] = config, SystemClock(), db, "bench"
        setup_session(app, EncryptedCookieStorage(os.urandom(32), cookie_name="bench"))
        setup_realtime(app, bus=bus)
        app.router.add_routes(realtime_endpoints.routes)

        async def login(request: web.Request) -> web.Response:
            # Admins may follow any session channel: no rows needed for the benchmark.
            await remember(request, 1, "admin")
            return web.json_response({"ok": True})

        async def publish(request: web.Request) -> web.Response:
            body = await request.json()
            for seq in range(int(body["events"])):
                await request.app[BUS].publish(CHANNEL, "quality", {"seq": seq, "sent": time.time()})
                await asyncio.sleep(float(body["interval"]))
            return web.json_response({"ok": True})

        async def stats(request: web.Request) -> web.Response:
            gc.collect()
            hub = request.app[HUB]
            return web.json_response(
                {"rss": _rss_bytes(), "connections": hub.connection_count, "slow": hub.slow_disconnects}
            )

        app.router.add_post("/bench/login", login)
        app.router.add_post("/bench/publish", publish)
        app.router.add_get("/bench/stats", stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        stop = asyncio.Event()
        # The bench stops this process with SIGTERM: end cleanly so the Redis keys go too.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("READY", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            if isinstance(bus, RedisBus):
                await _delete_prefix(redis_url, prefix)
            await db.dispose()


async def _delete_prefix(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# ---- the client process ----------------------------------------------------------------


@dataclass
class Result:
    bus: str
    clients: int
    events: int
    interval_ms: float
    delivered: int
    expected: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_per_socket_kib: float
    slow_disconnects: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _server(bus_kind: str, redis_url: str) -> AsyncIterator[str]:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.fanout",
        "--serve",
        bus_kind,
        "--port",
        str(port),
        "--redis-url",
        redis_url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if line.strip() != b"READY":
            raise RuntimeError(f"bench server for {bus_kind} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        await proc.wait()


async def _listen(ws: aiohttp.ClientWebSocketResponse, latencies: list[float], expected: int) -> None:
    seen = 0
    while seen < expected:
        message = await ws.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            return
        now = time.time()
        data = json.loads(message.data)
        if data.get("type") == "event":
            latencies.append((now - data["data"]["sent"]) * 1000)
            seen += 1


async def _run_one(base: str, bus_kind: str, clients: int, events: int) -> Result:
    # One Python process reads every client's copy: pace events so the reader, not the hub,
    # never becomes the bottleneck being measured.
    interval = max(0.02, clients / 5000)
    connector = aiohttp.TCPConnector(limit=0)
    # unsafe=True: keep cookies for an IP-address host (127.0.0.1).
    async with aiohttp.ClientSession(base, connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await session.post("/bench/login")
        before = await (await session.get("/bench/stats")).json()
        sockets = []
        for _ in range(clients):
            ws = await session.ws_connect("/ws", max_msg_size=0)
            await ws.send_json({"type": "subscribe", "channel": CHANNEL})
            sockets.append(ws)
        for ws in sockets:
            reply = await ws.receive_json(timeout=30)
            if reply.get("type") != "subscribed":
                raise RuntimeError(f"subscribe refused: {reply}")
        after = await (await session.get("/bench/stats")).json()

        latencies: list[float] = []
        listeners = [asyncio.create_task(_listen(ws, latencies, events)) for ws in sockets]
        await session.post("/bench/publish", json={"events": events, "interval": interval})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*listeners), timeout=30 + events * interval)
        for task in listeners:
            task.cancel()
        final = await (await session.get("/bench/stats")).json()
        for ws in sockets:
            await ws.close()

    ordered = sorted(latencies) or [float("nan")]
    return Result(
        bus=bus_kind,
        clients=clients,
        events=events,
        interval_ms=round(interval * 1000, 1),
        delivered=len(latencies),
        expected=clients * events,
        p50_ms=round(statistics.median(ordered), 2),
        p99_ms=round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        max_ms=round(ordered[-1], 2),
        rss_per_socket_kib=round((after["rss"] - before["rss"]) / clients / 1024, 1),
        slow_disconnects=int(final["slow"]),
    )


async def _redis_answers(url: str) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        await client.ping()
        return True
    except Exception:
        return False
    finally:
        await client.aclose()


def _table(results: list[Result]) -> str:
    head = "| bus | clients | events | interval ms | delivered | p50 ms | p99 ms | max ms | RSS/socket KiB |"
    rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    rows = [
        f"| {r.bus} | {r.clients} | {r.events} | {r.interval_ms} | {r.delivered}/{r.expected} | "
        f"{r.p50_ms} | {r.p99_ms} | {r.max_ms} | {r.rss_per_socket_kib} |"
        for r in results
    ]
    return "\n".join([head, rule, *rows])


def _write(results: list[Result], notes: list[str], args: argparse.Namespace) -> None:
    out = ROOT / "docs" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "mode": "quick" if args.quick else "full",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        # A shared machine: the load around the run says how much the figures can be trusted.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    (out / "fanout.json").write_text(
        json.dumps({"machine": machine, "results": [asdict(r) for r in results], "notes": notes}, indent=2) + "\n"
    )
    (out / "fanout.md").write_text(
        "# Notification fan-out through `/ws`\n\n"
        "`.venv/bin/python -m bench.fanout" + (" --quick" if args.quick else "") + "` on "
        f"{machine['cpus']} CPUs (load average {machine['load_average_1m']} at the end), "
        f"Python {machine['python']}, {machine['when']}.\n\n"
        "A server process runs the real hub (`setup_realtime`, SQLite, send queue 1024); this "
        "process holds every client, all subscribed to one `sessions:` channel. Latency is "
        "publish call to client receive (wall clock, same machine). RSS/socket is the server's "
        "RSS growth while the clients connect and subscribe, divided by their number. Events are "
        "paced (interval) so the single client process can read every copy; its own queueing is "
        "part of the latency (at 1,000 clients the last socket's copy is parsed after 999 "
        "others), so the hub's share is smaller than the figures.\n\n"
        + _table(results)
        + "\n"
        + "".join(f"\n- {note}" for note in notes)
        + ("\n" if notes else "")
    )


async def _bench(args: argparse.Namespace) -> None:
    events = 20 if args.quick else args.events
    buses = [bus for bus in args.buses if bus == "memory"]
    notes: list[str] = []
    if "redis" in args.buses:
        if await _redis_answers(args.redis_url):
            buses.append("redis")
        else:
            notes.append(f"RedisBus not measured: no Redis at {args.redis_url}")
    results = []
    for bus_kind in buses:
        for clients in args.clients:
            async with _server(bus_kind, args.redis_url) as base:
                result = await _run_one(base, bus_kind, clients, events)
            results.append(result)
            print(
                f"{bus_kind:6} {clients:5} clients: p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, "
                f"{result.rss_per_socket_kib} KiB/socket",
                flush=True,
            )
    print()
    print(_table(results))
    if not args.no_write:
        _write(results, notes, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 events per run")
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000])
    parser.add_argument("--buses", type=lambda s: s.split(","), default=["memory", "redis"])
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--no-write", action="store_true", help="print only; keep docs/bench as they are")
    parser.add_argument("--serve", choices=["memory", "redis"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args.serve, args.port, args.redis_url))
        return
    asyncio.run(_bench(args))


if __name__ == "__main__":
    main()
