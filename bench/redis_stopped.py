"""Free-booking latency while Redis hangs: a real `mentorlive serve` on a private redis-server frozen with SIGSTOP.

    .venv/bin/python -m bench.redis_stopped                 # Redis stopped for 30 s
    .venv/bin/python -m bench.redis_stopped --stopped 10    # shorter
    .venv/bin/python -m bench.redis_stopped --root /tmp/old # another source tree (e.g. `git archive` of main)

The server runs with `[redis] url` set to a redis-server of its own on a free loopback port (never the
shared one). LEARNERS learners book free sessions one after another: first with Redis answering (the
baseline of the same run), then while Redis is stopped (SIGSTOP: connections stay open, nothing is
answered), then after SIGCONT. Prints latency percentiles per phase and the p50 ratio to the baseline, the
slowest `GET /healthz` of each phase (no database, no Redis: how busy the machine and the loop were), and
how long the events that waited took to reach Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from bench.booking_api import seed, sign_in
from bench.ws_attack import ROOT, free_port, start_server, stop_server
from tests.support.private_redis import PrivateRedis

# One learner booking one session after another: what one user waits for, without the SQLite write
# contention many concurrent bookers add (bench.booking_api measures that).
LEARNERS = 1
SESSIONS = 600


@dataclass
class Row:
    phase: str
    requests: int
    ok: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    vs_baseline: float
    healthz_max_ms: float


class Booker:
    """Hands out (learner, session) pairs never booked before, so every request is a real booking."""

    def __init__(self, clients: list[tuple[aiohttp.ClientSession, str]], sessions: list[int], base: str) -> None:
        self.clients, self.base = clients, base
        self.pairs = [(c, s) for s in sessions for c in range(len(clients))]
        self.pairs.reverse()

    async def run(self, seconds: float) -> tuple[list[float], int, float]:
        """Book for `seconds`; returns booking latencies (ms), how many succeeded, the slowest /healthz (ms)."""
        latencies: list[float] = []
        ok = 0
        slowest_health = 0.0
        deadline = time.monotonic() + seconds

        async def probe() -> None:
            nonlocal slowest_health
            http = self.clients[0][0]
            while time.monotonic() < deadline and self.pairs:
                started = time.perf_counter()
                async with http.get(f"{self.base}/healthz") as response:
                    await response.read()
                slowest_health = max(slowest_health, (time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.1)

        async def worker() -> None:
            nonlocal ok
            while time.monotonic() < deadline and self.pairs:
                learner, session_id = self.pairs.pop()
                http, token = self.clients[learner]
                started = time.perf_counter()
                async with http.post(
                    f"{self.base}/api/sessions/{session_id}/bookings", headers={"X-CSRF-Token": token}
                ) as response:
                    await response.read()
                    ok += response.status == 201
                latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)

        await asyncio.gather(probe(), *(worker() for _ in range(len(self.clients))))
        return latencies, ok, slowest_health


def row(phase: str, run: tuple[list[float], int, float], baseline: float) -> Row:
    latencies, ok, health = run
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return Row(
        phase,
        len(latencies),
        ok,
        round(q[49], 1),
        round(q[98], 1),
        round(max(latencies), 1),
        round(q[49] / baseline, 2) if baseline else 1.0,
        round(health, 1),
    )


async def measure(root: Path, stopped_seconds: float, learners: int) -> tuple[list[Row], float]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        redis = PrivateRedis(tmp / "redis")
        try:
            url = f"sqlite+aiosqlite:///{tmp / 'attack.db'}"
            session_ids = await seed(url, learners, SESSIONS)
            port = free_port()
            server = await start_server(root, tmp, port, MENTORLIVE_REDIS_URL=redis.url)
            base = f"http://127.0.0.1:{port}"
            clients = [await sign_in(base, i) for i in range(learners)]
            booker = Booker(clients, session_ids, base)
            rows: list[Row] = []
            try:
                await booker.run(2.0)  # warm-up: first queries, first connections
                first = await booker.run(10.0)
                baseline = statistics.median(first[0])
                rows.append(row("Redis answering (baseline)", first, baseline))
                redis.stop()
                try:
                    stopped = await booker.run(stopped_seconds)
                finally:
                    redis.resume()
                resumed = time.perf_counter()
                rows.append(row(f"Redis stopped (SIGSTOP) {stopped_seconds:.0f} s", stopped, baseline))
                drained = await _wait_for_events(redis.url, expected=sum(r.ok for r in rows))
                catch_up = time.perf_counter() - resumed if drained else float("nan")
                rows.append(row("after SIGCONT", await booker.run(10.0), baseline))
            finally:
                for http, _ in clients:
                    await http.close()
                await stop_server(server)
            return rows, catch_up
        finally:
            redis.close()


async def _wait_for_events(url: str, expected: int, within: float = 60.0) -> bool:
    """Wait until every booking's `new_booking` reached its mentor's channel in Redis."""
    client = Redis.from_url(url, decode_responses=True)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            seqs = [await client.hget(key, "seq") async for key in client.scan_iter(match="*{requests:*}:meta")]
            if sum(int(s or 0) for s in seqs) >= expected:
                return True
            await asyncio.sleep(0.2)
        return False
    finally:
        await client.aclose()


def table(rows: list[Row]) -> str:
    lines = [
        "| phase | bookings | ok | p50 ms | p99 ms | max ms | p50 vs baseline | slowest /healthz ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.phase} | {r.requests} | {r.ok} | {r.p50_ms} | {r.p99_ms} | {r.max_ms} | {r.vs_baseline} "
        f"| {r.healthz_max_ms} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree to serve (default: this checkout)")
    parser.add_argument("--stopped", type=float, default=30.0, help="seconds Redis stays stopped")
    parser.add_argument("--learners", type=int, default=LEARNERS, help="concurrent bookers")
    args = parser.parse_args()
    rows, catch_up = asyncio.run(measure(args.root.resolve(), args.stopped, args.learners))
    print(table(rows))
    print(f"\nevents that waited reached Redis {catch_up:.1f} s after SIGCONT")


if __name__ == "__main__":
    main()
