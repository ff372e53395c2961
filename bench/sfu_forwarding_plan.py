"""Which points the forwarding benchmark runs, and how one point's rooms add up to one row.

A point is (mode, subscribers per room, rooms, SFU processes, round). `--scaling` stands for the
three layouts issue 13's last target reads side by side: one process with one room, one process
with two rooms, two processes with two rooms (one room each, as placement puts them). Janus is one
(multi-threaded) process and the relay one room, so they run only the layouts they can.

A row sums what is additive over rooms and processes (CPU, packets, restarts) and takes the worst
room for what a viewer notices (fewest frames to any subscriber, highest latency).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SCALING = ((1, 1), (2, 1), (2, 2))  # (rooms, processes)
MEDIA_SERVER_MODES = ("passthrough", "raw")


@dataclass(frozen=True)
class Point:
    mode: str
    subscribers: int
    rooms: int = 1
    processes: int = 1
    round: int = 0


def layouts(rooms: int, processes: int, scaling: bool) -> list[tuple[int, int]]:
    return list(SCALING) if scaling else [(rooms, processes)]


def runs_layout(mode: str, rooms: int, processes: int) -> bool:
    if mode in MEDIA_SERVER_MODES:
        return True
    if mode == "janus":
        return processes == 1
    return rooms == 1 and processes == 1  # the relay serves one room in one process


def plan(
    modes: Sequence[str], subscribers: Sequence[int], layout: Sequence[tuple[int, int]], rounds: int
) -> list[Point]:
    """Interleaved: for each round and count, each layout, each mode in turn."""
    return [
        Point(mode, n, rooms, processes, round_)
        for round_ in range(rounds)
        for n in subscribers
        for rooms, processes in layout
        for mode in modes
        if runs_layout(mode, rooms, processes)
    ]


def percent(seconds: float, elapsed: float) -> float:
    return round(100 * seconds / elapsed, 1) if elapsed > 0 else 0.0


def _worst(values: Sequence[float | None], pick: Any) -> float | None:
    present = [v for v in values if v is not None]
    return pick(present) if present else None


def combine(
    point: Point,
    rooms: Sequence[dict[str, Any]],
    sfu_cpu_seconds: Sequence[float],
    load_cpu_seconds: float,
    elapsed: float,
) -> dict[str, Any]:
    """One row from each room's load result and the CPU seconds of each SFU process over the window."""
    packets = sum(int(r.get("packets") or 0) for r in rooms)
    cpu = sum(sfu_cpu_seconds)
    return {
        "mode": point.mode,
        "subscribers": point.subscribers,
        "rooms": point.rooms,
        "processes": point.processes,
        "round": point.round,
        "seconds": round(elapsed, 2),
        "cpu_percent": percent(cpu, elapsed),
        "cpu_percent_per_process": [percent(s, elapsed) for s in sfu_cpu_seconds],
        "load_cpu_percent": percent(load_cpu_seconds, elapsed),
        "packets": packets,
        "packets_per_second": round(packets / elapsed) if elapsed > 0 else None,
        # Below a few hundred packets (no subscribers) this would only measure RTCP.
        "us_per_packet": round(1e6 * cpu / packets, 1) if packets > 500 else None,
        "worst_frames_ratio": _worst([r.get("worst_frames_ratio") for r in rooms], min),
        "latency_p50_ms": _worst([r.get("latency_p50_ms") for r in rooms], max),
        "latency_p95_ms": _worst([r.get("latency_p95_ms") for r in rooms], max),
        "published_fps": _worst([r.get("published_fps") for r in rooms], min),
        "media_restarts": sum(int(r.get("media_restarts") or 0) for r in rooms),
        "starved_subscribers": sum(int(r.get("starved_subscribers") or 0) for r in rooms),
        "packets_counted_at": rooms[0].get("packets_counted_at") if rooms else None,
        "room_worst_frames": [r.get("worst_frames_ratio") for r in rooms],
        "decode_calls": _sum_or_none([r.get("decode_calls") for r in rooms]),
        "encode_calls": _sum_or_none([r.get("encode_calls") for r in rooms]),
    }


def _sum_or_none(values: Sequence[Any]) -> int | None:
    present = [int(v) for v in values if v is not None]
    return sum(present) if present else None
