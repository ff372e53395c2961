"""SFU forwarding cost: media_server's forwarding paths against Janus (and aiortc's MediaRelay).

One publisher (640x480@30 fps ~1 Mbps VP8 + 20 ms Opus, a pre-encoded clip) and N
subscribers; the SFU runs in its own process, every client in one load process
(bench.sfu_forwarding_load), the same clients for every SFU (only the signaling differs).
Modes:

- `passthrough`: media_server's frame path (`[media] forwarding = "frames"`), today's default;
- `raw`: media_server with `MENTORLIVE_MEDIA_FORWARDING=raw` (the raw RTP path; a build
  without it runs frames, and the table's `path` column says so);
- `janus`: Janus 1.1 (Debian's package, VideoRoom), installed when missing (root);
- `relay`: aiortc's MediaRelay behind media_server's signaling (decode once, encode per subscriber).

With `janus` (or `--netns`), everything runs inside a network namespace this script creates
and deletes (root): Janus never offers loopback candidates, so every SFU and the load client
use 192.0.2.2 (TEST-NET-1) on a veth there. Points are interleaved (for each subscriber count,
each mode in turn) and the ratio to Janus is taken within the run. CPU is the SFU process's
user+system time from /proc; per forwarded packet it is divided by the RTP packets the
subscribers received (`--light`) or the SFU's transports sent (full subscribers).

    .venv/bin/python -m bench.sfu_forwarding --modes passthrough,janus --subscribers 8,16,32 --light
    .venv/bin/python -m bench.sfu_forwarding --modes raw,passthrough,janus --subscribers 16 --light \\
        --seconds 10 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from media_server.testing.netns import Namespace, network_namespace
from web.config import load_config

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench"
MODES = ("passthrough", "raw", "janus", "relay")
JSON_KEYS = ("mode", "subscribers", "cpu_percent", "us_per_packet", "worst_frames_ratio", "latency_p95_ms")


def subscriber_counts(values: Sequence[str]) -> list[int]:
    """`--subscribers 8,16 32` -> [8, 16, 32]."""
    counts = [int(part) for value in values for part in value.split(",") if part.strip()]
    if not counts or any(n < 0 for n in counts):
        raise argparse.ArgumentTypeError("subscriber counts are whole numbers >= 0")
    return counts


def mode_list(value: str) -> list[str]:
    modes = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"modes are among {', '.join(MODES)} (got {value!r})")
    return modes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--modes",
        type=mode_list,
        default=None,
        help=f"comma-separated, among {', '.join(MODES)} (default passthrough,janus with --light, "
        "else passthrough,relay)",
    )
    parser.add_argument("--subscribers", nargs="+", default=None, help="counts, e.g. 8,16,32 (default 8 16)")
    parser.add_argument("--light", action="store_true", help="subscribers count RTP headers (64+ on 2 cores)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per point")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the interleaved sweep")
    parser.add_argument(
        "--event-loop",
        choices=["uvloop", "asyncio"],
        default=None,
        help="media_server's loop (default: [media] event_loop)",
    )
    parser.add_argument("--netns", action="store_true", help="run in a network namespace even without janus")
    parser.add_argument("--json", action="store_true", help="one JSON line per point, no table or docs")
    parser.add_argument("--quick", action="store_true", help="5 s windows")
    args = parser.parse_args(argv)
    try:
        args.subscribers = subscriber_counts(args.subscribers) if args.subscribers else [8, 16]
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(f"--subscribers: {exc}")
    if args.modes is None:
        args.modes = ["passthrough", "janus"] if args.light else ["passthrough", "relay"]
    if args.quick:
        args.seconds, args.warmup = 5.0, 2.0
    if "janus" in args.modes and not args.light:
        parser.error("janus mode needs --light (its subscribers are counted from RTP headers)")
    if args.event_loop is None:
        args.event_loop = load_config().str("media", "event_loop")
    return args


def json_line(row: dict[str, Any]) -> str:
    """The scripted form of a point: the agreed keys first, then everything else measured."""
    head = {key: row.get(key) for key in JSON_KEYS}
    return json.dumps({**head, **{k: v for k, v in row.items() if k not in head}})


def with_janus_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with `janus_ratio`: its CPU per packet over Janus's at the same count and round."""
    janus = {(r["subscribers"], r.get("round", 0)): r.get("us_per_packet") for r in rows if r["mode"] == "janus"}
    out = []
    for row in rows:
        base = janus.get((row["subscribers"], row.get("round", 0)))
        mine = row.get("us_per_packet")
        out.append({**row, "janus_ratio": round(mine / base, 2) if mine and base else None})
    return out


def fmt(value: Any, suffix: str = "") -> str:
    return "–" if value is None else f"{value}{suffix}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| SFU | path / loop | subscribers | SFU CPU % of a core | CPU % per subscriber | µs CPU per forwarded "
        "packet | vs Janus (same run) | frames delivered (worst subscriber) | latency p50 / p95 ms "
        "| load-client CPU % / machine load |"
    )
    lines = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        per_sub = round(r["cpu_percent"] / r["subscribers"], 2) if r["subscribers"] else None
        worst = None if r.get("worst_frames_ratio") is None else f"{100 * r['worst_frames_ratio']:.1f}%"
        ratio = None if r.get("janus_ratio") is None else f"{r['janus_ratio']}x"
        lines.append(
            f"| {r['mode']} | {r.get('path', '–')} | {r['subscribers']} | {r['cpu_percent']} | {fmt(per_sub)} "
            f"| {fmt(r.get('us_per_packet'))} | {fmt(ratio)} | {fmt(worst)} "
            f"| {fmt(r.get('latency_p50_ms'))} / {fmt(r.get('latency_p95_ms'))} "
            f"| {fmt(r.get('load_cpu_percent'))} / {fmt(r.get('machine_load_1min'))} |"
        )
    return "\n".join(lines)


class Runner:
    """Starts each point's SFU and load process, inside the namespace when there is one."""

    def __init__(self, args: argparse.Namespace, namespace: Namespace | None, janus_folder: Path | None) -> None:
        self.args = args
        self.namespace = namespace
        self.janus_folder = janus_folder
        self.host = namespace.address if namespace else "127.0.0.1"

    def wrap(self, argv: list[str]) -> list[str]:
        return self.namespace.command(argv) if self.namespace else argv

    def point(self, mode: str, subscribers: int) -> dict[str, Any]:
        with self.sfu(mode) as (port, pid, secret, running):
            load = subprocess.run(
                self.wrap(
                    [
                        sys.executable,
                        "-m",
                        "bench.sfu_forwarding_load",
                        "--port",
                        str(port),
                        "--pid",
                        str(pid),
                        "--secret",
                        secret,
                        "--subscribers",
                        str(subscribers),
                        "--seconds",
                        str(self.args.seconds),
                        "--warmup",
                        str(self.args.warmup),
                        "--ice-host",
                        self.host,
                        "--signaling",
                        "janus" if mode == "janus" else "rtc",
                        *(["--light"] if self.args.light else []),
                    ]
                ),
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=self.args.seconds + self.args.warmup + 240,
            )
            if load.returncode != 0:
                raise RuntimeError(f"{mode} {subscribers}: load process failed:\n{load.stderr[-3000:]}")
            result: dict[str, Any] = json.loads(load.stdout.strip().splitlines()[-1])
        return {"mode": mode, **result, **running}

    @contextlib.contextmanager
    def sfu(self, mode: str) -> Iterator[tuple[int, int, str, dict[str, Any]]]:
        if mode == "janus":
            assert self.janus_folder is not None
            yield from self._janus()
            return
        secret = secrets.token_hex(16)  # hex: never starts with "-", which argparse would misread
        env = {**os.environ, "MENTORLIVE_MEDIA_FORWARDING": "raw" if mode == "raw" else "frames"}
        server = subprocess.Popen(
            self.wrap(
                [
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
                    self.args.event_loop,
                ]
            ),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline().split(maxsplit=2)
            if len(line) < 3 or line[0] != "READY":
                raise RuntimeError(f"SFU process did not start ({line})")
            running = json.loads(line[2])
            path = running["forwarding"]
            yield int(line[1]), server.pid, secret, {"path": f"{path} / {running['loop']}"}
        finally:
            stop(server)

    def _janus(self) -> Iterator[tuple[int, int, str, dict[str, Any]]]:
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
            yield port, process.pid, "", {"path": "VideoRoom / C"}
        finally:
            stop(process)


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextlib.contextmanager
def environment(args: argparse.Namespace) -> Iterator[tuple[Namespace | None, Path | None]]:
    need_namespace = args.netns or "janus" in args.modes
    if "janus" in args.modes:
        from bench.sfu_forwarding_janus import ensure_installed

        ensure_installed()
    with tempfile.TemporaryDirectory(prefix="mentorlive-bench-janus-") as folder:
        if not need_namespace:
            yield None, None
            return
        print("creating a network namespace with 192.0.2.2 on a veth (deleted at the end)", file=sys.stderr, flush=True)
        with network_namespace("mlbench") as namespace:
            yield namespace, Path(folder)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with environment(args) as (namespace, janus_folder):
        runner = Runner(args, namespace, janus_folder)
        for round_ in range(args.rounds):
            for n in args.subscribers:
                for mode in args.modes:
                    started = time.monotonic()
                    row = {**runner.point(mode, n), "round": round_}
                    rows.append(row)
                    print(
                        f"{mode:>11} {n:>3} subscribers: {row['cpu_percent']:5.1f}% CPU, "
                        f"{row.get('us_per_packet')} µs/packet, worst {row.get('worst_frames_ratio')} of frames "
                        f"({time.monotonic() - started:.0f}s)",
                        file=sys.stderr,
                        flush=True,
                    )
                if args.json:
                    # A count's lines once all its modes ran: each carries its ratio to Janus's.
                    for row in with_janus_ratios([r for r in rows if r["subscribers"] == n and r["round"] == round_]):
                        print(json_line(row), flush=True)
    return with_janus_ratios(rows)


def write_docs(args: argparse.Namespace, rows: list[dict[str, Any]], text: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {
        "modes": args.modes,
        "light": args.light,
        "seconds_per_point": args.seconds,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "janus": shutil.which("janus") is not None,
    }
    (OUT / "sfu_forwarding.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    command = " ".join(
        [
            "python -m bench.sfu_forwarding",
            "--modes",
            ",".join(args.modes),
            "--subscribers",
            ",".join(map(str, args.subscribers)),
            *(["--light"] if args.light else []),
            "--seconds",
            f"{args.seconds:g}",
            *(["--rounds", str(args.rounds)] if args.rounds > 1 else []),
        ]
    )
    results = OUT / "sfu_forwarding_results.md"
    results.write_text(
        f"# SFU forwarding: last run\n\n`sudo .venv/bin/{command}` ({os.cpu_count()} CPUs, {args.seconds:g} s per "
        f"point after {args.warmup:g} s warm-up, points interleaved; how to read it: sfu_forwarding.md)\n\n{text}\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    rows = run(args)
    if args.json:
        return
    text = table(rows)
    print()
    print(text)
    write_docs(args, rows, text)


if __name__ == "__main__":
    main()
