"""Booking API throughput: the real server in its own process, many signed-in learners in this one.

    .venv/bin/python -m bench.booking_api            # SQLite and PostgreSQL
    .venv/bin/python -m bench.booking_api --quick    # fewer requests

For each database a `mentorlive serve` process runs on a fresh database seeded with one mentor,
SESSIONS free sessions and LEARNERS learners. Clients (one aiohttp session per learner, so each has
its own cookies and CSRF token) first hit /healthz (no database: the baseline of the same run), then
list sessions, then book: every learner books every session, CONCURRENCY requests in flight. Prints
requests/s and latency percentiles with the ratio to the baseline, and writes docs/bench/booking_api.*.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg

from models.clock import SystemClock
from models.db import Database
from models.migrate import upgrade
from models.tables import MentorSession
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
PG_DB = "mentorlive_bench"
PASSWORD = "bench12345"


@dataclass
class Row:
    database: str
    phase: str
    requests: int
    ok: int
    per_second: float
    p50_ms: float
    p99_ms: float
    vs_baseline: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def fresh_url(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://root@127.0.0.1:5432/{PG_DB}"


async def seed(url: str, learners: int, sessions: int) -> list[int]:
    await upgrade(url)
    db = Database(url)
    clock, hasher = SystemClock(), fast_test_hasher()
    try:
        mentor = await create_account(db, clock, hasher, "mentor", {
            "email": "mentor@bench.test", "name": "Bench Mentor", "password": PASSWORD})
        for i in range(learners):
            await create_account(db, clock, hasher, "learner", {
                "email": f"l{i}@bench.test", "name": f"Learner {i}", "password": PASSWORD})
        now = datetime.now(UTC)
        ids = []
        async with db.session() as s:
            for i in range(sessions):
                row = MentorSession(mentor_id=mentor.id or 0, title=f"Bench session {i}", domain_tags=["python"],
                                    start_at=now + timedelta(days=1, minutes=i), capacity=learners,
                                    room_code=secrets.token_urlsafe(12), created_at=now, updated_at=now)
                s.add(row)
                await s.flush()
                ids.append(row.id or 0)
            await s.commit()
        return ids
    finally:
        await db.dispose()


async def start_server(url: str, port: int, tmp: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "MENTORLIVE_DATABASE_URL": url, "MENTORLIVE_WEB_SECRET": "bench-secret",
           "MENTORLIVE_RECORDINGS_DIR": str(tmp / "rec"), "MENTORLIVE_PAYMENTS_KEY_SECRET": "bench",
           "MENTORLIVE_PAYMENTS_WEBHOOK_SECRET": "bench"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", "serve", "--port", str(port), env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


async def sign_in(base: str, i: int) -> tuple[aiohttp.ClientSession, str]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/healthz"):
        pass
    token = next(c.value for c in http.cookie_jar if c.key == "csrf_token")
    async with http.post(f"{base}/api/auth/login", json={"email": f"l{i}@bench.test", "password": PASSWORD},
                         headers={"X-CSRF-Token": token}) as response:
        assert response.status == 200, await response.text()
    return http, token


async def measure(calls: list[Callable[[], Awaitable[int]]], concurrency: int) -> tuple[list[float], int, float]:
    queue = list(reversed(calls))
    latencies: list[float] = []
    ok = 0

    async def worker() -> None:
        nonlocal ok
        while queue:
            call = queue.pop()
            start = time.perf_counter()
            status = await call()
            latencies.append((time.perf_counter() - start) * 1000)
            ok += 1 if status < 400 else 0

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, ok, time.perf_counter() - began


def request(http: aiohttp.ClientSession, method: str, url: str, token: str) -> Callable[[], Awaitable[int]]:
    async def call() -> int:
        async with http.request(method, url, headers={"X-CSRF-Token": token}) as response:
            await response.read()
            return response.status
    return call


async def run_database(kind: str, learners: int, sessions: int, repeat: int, concurrency: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = await fresh_url(kind, tmp)
        session_ids = await seed(url, learners, sessions)
        port = free_port()
        server = await start_server(url, port, tmp)
        base = f"http://127.0.0.1:{port}"
        clients = [await sign_in(base, i) for i in range(learners)]
        rows: list[Row] = []
        try:
            phases = {
                "GET /healthz (baseline)": [request(h, "GET", f"{base}/healthz", t)
                                            for _ in range(repeat) for h, t in clients],
                "GET /api/sessions?tab=scheduled": [request(h, "GET", f"{base}/api/sessions?tab=scheduled", t)
                                                    for _ in range(max(1, repeat // 4)) for h, t in clients],
                "POST /api/sessions/{id}/bookings": [request(h, "POST", f"{base}/api/sessions/{sid}/bookings", t)
                                                     for sid in session_ids for h, t in clients],
            }
            baseline = 0.0
            for phase, calls in phases.items():
                latencies, ok, seconds = await measure(calls, concurrency)
                rate = len(calls) / seconds
                baseline = baseline or rate
                quantiles = statistics.quantiles(latencies, n=100)
                rows.append(Row(kind, phase, len(calls), ok, round(rate, 1), round(quantiles[49], 1),
                                round(quantiles[98], 1), round(rate / baseline, 3)))
        finally:
            for http, _ in clients:
                await http.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            await server.wait()
        return rows


def table(rows: list[Row]) -> str:
    lines = ["| database | call | requests | ok | req/s | p50 ms | p99 ms | req/s vs /healthz |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r.database} | {r.phase} | {r.requests} | {r.ok} | {r.per_second} | {r.p50_ms} | {r.p99_ms} "
              f"| {r.vs_baseline} |" for r in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    learners, sessions, repeat, concurrency = (20, 5, 10, 20) if args.quick else (50, 10, 40, 50)
    rows: list[Row] = []
    for kind in args.databases.split(","):
        rows += await run_database(kind, learners, sessions, repeat, concurrency)
    text = table(rows)
    print(text)
    if not args.no_write:
        out = ROOT / "docs" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        meta = {"machine": platform.machine(), "cpus": os.cpu_count(), "load_average": os.getloadavg(),
                "learners": learners, "sessions": sessions, "concurrency": concurrency}
        (out / "booking_api.json").write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2))
        (out / "booking_api.md").write_text(
            "# Booking API throughput\n\n`.venv/bin/python -m bench.booking_api` — server and clients in separate "
            f"processes; {learners} signed-in learners, {sessions} sessions, {concurrency} requests in flight; "
            f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n\n{text}\n"
        )


if __name__ == "__main__":
    asyncio.run(main())
