"""Free-booking latency while Redis hangs: a real `mentorlive serve` on a private redis-server frozen with SIGSTOP.

    .venv/bin/python -m bench.redis_stopped                 # Redis stopped for 30 s
    .venv/bin/python -m bench.redis_stopped --stopped 10    # shorter
    .venv/bin/python -m bench.redis_stopped --root /tmp/old # another source tree (e.g. `git archive` of main)

The server runs with `[redis] url` set to a redis-server of its own on a free loopback port (never the
shared one). CONCURRENCY learners book free sessions one after another: first with Redis answering (the
baseline of the same run), then while Redis is stopped (SIGSTOP: connections stay open, nothing is
answered), then after SIGCONT. Prints latency percentiles per phase and the p50 ratio to the baseline, and
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

LEARNERS = 12
SESSIONS = 150


@dataclass
class Row:
    phase: str
    requests: int
    ok: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    vs_baseline: float


class Booker:
    """Hands out (learner, session) pairs never booked before, so every request is a real booking."""

    def __init__(self, clients: list[tuple[aiohttp.ClientSession, str]], sessions: list[int], base: str) -> None:
        self.clients, self.base = clients, base
        self.pairs = [(c, s) for s in sessions for c in range(len(clients))]
        self.pairs.reverse()

    async def run(self, seconds: float) -> tuple[list[float], int]:
        latencies: list[float] = []
        ok = 0
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal ok
            while time.monotonic() < deadline and self.pairs:
                learner, session_id = self.pairs.pop()
                http, token = self.clients[learner]
                started = time.perf_counter()
                async with http.post(f"{self.base}/api/sessions/{session_id}/bookings",
                                     headers={"X-CSRF-Token": token}) as response:
                    await response.read()
                    ok += response.status == 201
                latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)

        await asyncio.gather(*(worker() for _ in range(len(self.clients))))
        return latencies, ok


def row(phase: str, latencies: list[float], ok: int, baseline: float) -> Row:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return Row(phase, len(latencies), ok, round(q[49], 1), round(q[98], 1), round(max(latencies), 1),
               round(q[49] / baseline, 2) if baseline else 1.0)


async def measure(root: Path, stopped_seconds: float) -> tuple[list[Row], float]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        redis = PrivateRedis(tmp / "redis")
        try:
            url = f"sqlite+aiosqlite:///{tmp / 'attack.db'}"
            session_ids = await seed(url, LEARNERS, SESSIONS)
            port = free_port()
            server = await start_server(root, tmp, port, MENTORLIVE_REDIS_URL=redis.url)
            base = f"http://127.0.0.1:{port}"
            clients = [await sign_in(base, i) for i in range(LEARNERS)]
            booker = Booker(clients, session_ids, base)
            rows: list[Row] = []
            try:
                latencies, ok = await booker.run(5.0)
                baseline = statistics.median(latencies)
                rows.append(row("Redis answering (baseline)", latencies, ok, baseline))
                redis.stop()
                try:
                    latencies, ok = await booker.run(stopped_seconds)
                finally:
                    redis.resume()
                resumed = time.perf_counter()
                rows.append(row(f"Redis stopped (SIGSTOP) {stopped_seconds:.0f} s", latencies, ok, baseline))
                drained = await _wait_for_events(redis.url, expected=sum(r.ok for r in rows))
                catch_up = time.perf_counter() - resumed if drained else float("nan")
                latencies, ok = await booker.run(5.0)
                rows.append(row("after SIGCONT", latencies, ok, baseline))
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
    lines = ["| phase | bookings | ok | p50 ms | p99 ms | max ms | p50 vs baseline |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r.phase} | {r.requests} | {r.ok} | {r.p50_ms} | {r.p99_ms} | {r.max_ms} | {r.vs_baseline} |"
              for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree to serve (default: this checkout)")
    parser.add_argument("--stopped", type=float, default=30.0, help="seconds Redis stays stopped")
    args = parser.parse_args()
    rows, catch_up = asyncio.run(measure(args.root.resolve(), args.stopped))
    print(table(rows))
    print(f"\nevents that waited reached Redis {catch_up:.1f} s after SIGCONT")


if __name__ == "__main__":
    main()
