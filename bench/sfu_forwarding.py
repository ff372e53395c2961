"""SFU forwarding cost: media_server's encoded passthrough against aiortc's MediaRelay.

One publisher (640x480@30 fps ~1 Mbps VP8 + Opus) and 0, 2, 8 (16) subscribers; the SFU
runs in its own process, the load clients in another. Measures the SFU process's CPU,
the cost per subscriber and per forwarded packet, the delivered frame rate and the
capture-to-decoded latency (a probe subscriber decodes each frame's index marker).

    .venv/bin/python -m bench.sfu_forwarding [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench"
MODES = ("raw", "passthrough", "relay")


def run_point(mode: str, subscribers: int, seconds: float, warmup: float) -> dict[str, Any]:
    secret = secrets.token_hex(16)  # hex: never starts with "-", which argparse would misread
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.sfu_forwarding_server", "--mode", mode, "--secret", secret],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"SFU process did not start ({line})")
        load = subprocess.run(
            [sys.executable, "-m", "bench.sfu_forwarding_load", "--port", line[1], "--pid", str(server.pid),
             "--secret", secret, "--subscribers", str(subscribers), "--seconds", str(seconds),
             "--warmup", str(warmup)],
            cwd=ROOT, capture_output=True, text=True, timeout=seconds + warmup + 120,
        )
        if load.returncode != 0:
            raise RuntimeError(f"load process failed:\n{load.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(load.stdout.strip().splitlines()[-1])
        result["mode"] = mode
        return result
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def fmt(value: Any) -> str:
    return "–" if value is None else str(value)


def table(rows: list[dict[str, Any]]) -> str:
    base = {r["mode"]: r["sfu_cpu_percent"] for r in rows if r["subscribers"] == 0}
    head = ("| SFU | subscribers | SFU CPU % of a core | CPU % per subscriber | µs CPU per forwarded packet "
            "| SFU CPU ms per delivered video frame | delivered fps (min / mean of subscribers) "
            "| frames delivered (worst subscriber) | latency p50 / p95 ms | decodes / encodes in SFU "
            "| load-client CPU % / machine load |")
    lines = [head, "|" + " --- |" * 11]
    for r in rows:
        per_sub = None
        if r["subscribers"]:
            per_sub = round((r["sfu_cpu_percent"] - base.get(r["mode"], 0.0)) / r["subscribers"], 2)
        ratio = None if r["delivered_ratio_min"] is None else f"{100 * r['delivered_ratio_min']:.1f}%"
        lines.append(
            f"| {r['mode']} | {r['subscribers']} | {r['sfu_cpu_percent']} | {fmt(per_sub)} "
            f"| {fmt(r['us_per_packet'])} | {fmt(r.get('ms_per_delivered_frame'))} "
            f"| {fmt(r['delivered_fps_min'])} / {fmt(r['delivered_fps_mean'])} "
            f"| {fmt(ratio)} | {fmt(r['latency_ms_p50'])} / {fmt(r['latency_ms_p95'])} "
            f"| {r['decode_calls']} / {r['encode_calls']} "
            f"| {fmt(r.get('load_cpu_percent'))} / {fmt(r.get('machine_load_1min'))} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> str:
    def cpu(mode: str, n: int) -> float | None:
        return next((r["sfu_cpu_percent"] for r in rows if r["mode"] == mode and r["subscribers"] == n), None)

    def row(mode: str, n: int) -> dict[str, Any] | None:
        return next((r for r in rows if r["mode"] == mode and r["subscribers"] == n), None)

    ours, relay = row("passthrough", 8), row("relay", 8)
    if not ours or not relay:
        return ""
    text = (f"At 8 subscribers MediaRelay used {relay['sfu_cpu_percent'] / ours['sfu_cpu_percent']:.1f}x the "
            f"CPU of encoded passthrough")
    if ours.get("ms_per_delivered_frame") and relay.get("ms_per_delivered_frame"):
        text += (f", and {relay['ms_per_delivered_frame'] / ours['ms_per_delivered_frame']:.1f}x the CPU per "
                 f"video frame actually delivered (passthrough delivered "
                 f"{100 * (ours['delivered_ratio_min'] or 0):.0f}% of frames to its worst subscriber, "
                 f"MediaRelay {100 * (relay['delivered_ratio_min'] or 0):.0f}%)")
    return text + "."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short windows, 0/2/8 subscribers")
    parser.add_argument("--subscribers", type=int, nargs="*", help="override the subscriber counts")
    args = parser.parse_args()
    counts = args.subscribers or ([0, 2, 8] if args.quick else [0, 2, 8, 16])
    seconds, warmup = (5.0, 2.0) if args.quick else (15.0, 3.0)
    rows = []
    for mode in MODES:
        for n in counts:
            started = time.monotonic()
            row = run_point(mode, n, seconds, warmup)
            rows.append(row)
            print(f"{mode:>11} {n:>3} subscribers: {row['sfu_cpu_percent']:5.1f}% CPU, "
                  f"{row['delivered_fps_min']} fps min ({time.monotonic() - started:.0f}s)", flush=True)
    text = table(rows)
    note = summary(rows)
    print()
    print(text)
    print(note)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"quick": args.quick, "seconds_per_point": seconds, "cpus": os.cpu_count(),
            "python": platform.python_version(), "machine": platform.machine()}
    (OUT / "sfu_forwarding.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    (OUT / "sfu_forwarding.md").write_text(
        "# SFU forwarding benchmark\n\n"
        "`.venv/bin/python -m bench.sfu_forwarding" + (" --quick" if args.quick else "") + "` "
        f"({os.cpu_count()} CPUs, {seconds:.0f} s per point after {warmup:.0f} s warm-up). One publisher "
        "sends 640x480@30 fps ~1 Mbps VP8 and 20 ms Opus; the SFU runs in its own process; CPU is that "
        "process's user+system time. `passthrough` is media_server (encoded frames through aiortc's pack() "
        "path); `relay` is aiortc's MediaRelay behind the same signaling (decode once, encode per subscriber). "
        "Latency is capture (handed to the publisher's sender) to decoded at a probe subscriber, on one "
        "machine. Per-subscriber CPU is (CPU - CPU at 0 subscribers) / subscribers.\n\n"
        f"{text}\n\n{note}\n\n"
        "Reading it: when the machine is shared (see machine load, 1-minute average over its cores) the "
        "relay's encoders starve first and it delivers fewer frames for the CPU it burns; the per-delivered-"
        "frame column compares the two fairly then. The load clients run in one process, so at 16 "
        "subscribers that process (not the SFU) can become the bottleneck: compare the load-client CPU.\n"
    )


if __name__ == "__main__":
    main()
