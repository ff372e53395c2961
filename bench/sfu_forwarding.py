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

Rooms and processes (media_server modes, `--light`): `--rooms R` runs R rooms, each with its own
publisher and N subscribers in its own load process; `--processes P` starts the SFU as operators do,
`python -m web.cli media-node --processes P` behind a private Redis, and places the rooms with the
product's placement (two rooms on two idle processes: one each). CPU is summed over every SFU
process (and shown per process), packets over all rooms; worst frames and latency are the worst
room's. The load clients' CPU is printed too: on 2 cores they compete with the SFU. `--scaling`
runs three layouts at each count: 1 process with 1 room, 1 process with 2 rooms, 2 processes
with 2 rooms, all three through `media-node` so they differ only in layout.

`--struggling K` adds K full aiortc receivers (NACK, PLI, receiver reports) whose downlink
loses 20 % of RTP packets once every subscriber has video (bench.sfu_forwarding_struggling):
the table then shows what they got in the window (share of the publisher's video frames and
audio packets, video packets the SFU sent into their link) and when media_server paused their
video (Janus has no such message, shown as a dash); the worst-subscriber column stays the healthy ones'.

    .venv/bin/python -m bench.sfu_forwarding --modes passthrough,janus --subscribers 8,16,32 --light
    .venv/bin/python -m bench.sfu_forwarding --modes raw --scaling --subscribers 32,48,64,80 --light
    .venv/bin/python -m bench.sfu_forwarding --modes raw,passthrough,janus --subscribers 16 --light \\
        --seconds 10 --json
    .venv/bin/python -m bench.sfu_forwarding --modes raw,janus --subscribers 16 --light --struggling 1
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from bench import sfu_forwarding_budget as budget
from bench.sfu_forwarding_plan import MEDIA_SERVER_MODES, Point, combine, layouts, plan
from bench.sfu_forwarding_proc import cpu_seconds, drops_between, udp_drops
from bench.sfu_forwarding_sfus import Launcher, Sfu, Target
from media_server.testing.netns import Namespace, network_namespace
from web.config import load_config

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench"
MODES = ("passthrough", "raw", "janus", "relay")
JSON_KEYS = (
    "mode",
    "subscribers",
    "rooms",
    "processes",
    "cpu_percent",
    "us_per_packet",
    "worst_frames_ratio",
    "latency_p95_ms",
)


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


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"at least 1 (got {value})")
    return number


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--modes",
        type=mode_list,
        default=None,
        help=f"comma-separated, among {', '.join(MODES)} (default passthrough,janus with --light, "
        "else passthrough,relay; raw with --scaling)",
    )
    parser.add_argument("--subscribers", nargs="+", default=None, help="counts per room, e.g. 8,16,32 (default 8 16)")
    parser.add_argument("--light", action="store_true", help="subscribers count RTP headers (64+ on 2 cores)")
    parser.add_argument("--rooms", type=positive, default=1, help="rooms, each with its own publisher and load process")
    parser.add_argument(
        "--processes", type=positive, default=1, help="SFU processes (> 1: `mentorlive media-node --processes P`)"
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="at each count: 1 process/1 room, 1 process/2 rooms, 2 processes/2 rooms (all via media-node)",
    )
    parser.add_argument(
        "--media-node", action="store_true", help="start media_server modes through `media-node` even with 1 process"
    )
    parser.add_argument(
        "--struggling", type=struggling_count, default=0, help="add K full subscribers whose downlink loses 20 %%"
    )
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
    parser.add_argument(
        "--cpu-budget",
        type=float,
        default=None,
        help="cap each SFU process at this share of a core (cgroups, root): one process's limit within the machine",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per point, no table or docs")
    parser.add_argument("--quick", action="store_true", help="5 s windows")
    args = parser.parse_args(argv)
    try:
        args.subscribers = subscriber_counts(args.subscribers) if args.subscribers else [8, 16]
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(f"--subscribers: {exc}")
    if args.scaling and (args.rooms != 1 or args.processes != 1):
        parser.error("--scaling chooses the rooms and processes itself (leave out --rooms and --processes)")
    if args.modes is None:
        args.modes = ["raw"] if args.scaling else ["passthrough", "janus"] if args.light else ["passthrough", "relay"]
    if args.quick:
        args.seconds, args.warmup = 5.0, 2.0
    if "janus" in args.modes and not args.light:
        parser.error("janus mode needs --light (its subscribers are counted from RTP headers)")
    if args.cpu_budget is not None:
        budget.check(args.cpu_budget)
    args.layouts = layouts(args.rooms, args.processes, args.scaling)
    several = any(rooms > 1 or processes > 1 for rooms, processes in args.layouts)
    if several and not args.light:
        parser.error("--rooms, --processes and --scaling need --light (packets are counted at the subscribers)")
    if several and not any(mode in MEDIA_SERVER_MODES for mode in args.modes):
        parser.error(f"--rooms, --processes and --scaling measure {' and '.join(MEDIA_SERVER_MODES)}")
    if several and args.struggling:
        parser.error("--struggling runs with one room on one process (its columns are one room's)")
    args.media_node = args.media_node or args.scaling or args.processes > 1
    args.plan = plan(args.modes, args.subscribers, args.layouts, args.rounds)
    if args.event_loop is None:
        args.event_loop = load_config().str("media", "event_loop")
    return args


def json_line(row: dict[str, Any]) -> str:
    """The scripted form of a point: the agreed keys first, then everything else measured."""
    head = {key: row.get(key) for key in JSON_KEYS}
    return json.dumps({**head, **{k: v for k, v in row.items() if k not in head}})


def ratio_key(row: dict[str, Any]) -> tuple[int, int, int]:
    # Janus is one process: its row with as many rooms is the baseline whatever our process count.
    return row["subscribers"], row.get("rooms", 1), row.get("round", 0)


def with_janus_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with `janus_ratio`: its CPU per packet over Janus's at the same count, rooms and round."""
    janus = {ratio_key(r): r.get("us_per_packet") for r in rows if r["mode"] == "janus"}
    out = []
    for row in rows:
        base = janus.get(ratio_key(row))
        mine = row.get("us_per_packet")
        out.append({**row, "janus_ratio": round(mine / base, 2) if mine and base else None})
    return out


def fmt(value: Any, suffix: str = "") -> str:
    return "–" if value is None else f"{value}{suffix}"


def struggling_count(value: str) -> int:
    """`--struggling K`: how many struggling viewers join each point (0: none)."""
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"a whole number >= 0 (got {value!r})")
    return count


def struggling_argv(args: argparse.Namespace) -> list[str]:
    """The load process's (and the docs' command line's) share of `--struggling`."""
    return ["--struggling", str(args.struggling)] if args.struggling else []


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def paused_cell(paused: list[float | None] | None) -> str:
    """media_server: seconds from the loss's start to each struggling viewer's pause; a dash for Janus."""
    if paused is None:
        return "–"
    return ", ".join("no" if p is None else f"after {p:g} s" for p in paused) or "–"


STRUGGLING_HEAD = (
    " struggling viewer (20 % loss): video frames (their latency p95) | its audio packets "
    "| video packets sent into its link | its video paused | RTP packets/s per healthy subscriber "
    "| keyframe requests: from the struggling viewer / to the publisher |"
)


def struggling_columns(text: str, rows: list[dict[str, Any]]) -> str:
    """`table(rows)` with the struggling viewers' columns appended, when a row has them."""
    if not any(r.get("struggling") for r in rows):
        return text
    head, rule, *lines = text.split("\n")
    out = [head + STRUGGLING_HEAD, rule + " ---: | ---: | ---: | --- | ---: | ---: |"]
    for line, r in zip(lines, rows, strict=True):
        cells = [
            f"{percent(r.get('struggling_video_ratio'))} ({fmt(r.get('struggling_latency_p95_ms'), ' ms')})",
            percent(r.get("struggling_audio_ratio")),
            percent(r.get("struggling_link_video_ratio")),
            paused_cell(r.get("struggling_paused")),
            fmt(r.get("healthy_packets_per_s")),
            f"{fmt(r.get('struggling_keyframe_requests'))} / {fmt(r.get('keyframe_requests'))}",
        ]
        out.append(line + "".join(f" {cell} |" for cell in cells))
    return "\n".join(out)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| SFU | path / loop | processes | rooms | subscribers per room | forwarded packets/s (all rooms) "
        "| SFU CPU % of a core (per process) | CPU % per subscriber | µs CPU per forwarded packet "
        "| vs Janus (same run) | frames delivered (worst subscriber, worst room) | latency p50 / p95 ms (worst room) "
        "| load-client CPU % / machine load | UDP drops SFU / clients |"
    )
    lines = [head, "| --- | --- |" + " ---: |" * 12]
    for r in rows:
        rooms, processes = r.get("rooms", 1), r.get("processes", 1)
        if "error" in r:
            lines.append(f"| {r['mode']} | – | {processes} | {rooms} | {r['subscribers']} | failed: {r['error']} |")
            continue
        audience = r["subscribers"] * rooms
        per_sub = round(r["cpu_percent"] / audience, 2) if audience else None
        worst = None if r.get("worst_frames_ratio") is None else f"{100 * r['worst_frames_ratio']:.1f}%"
        if worst is not None and r.get("media_restarts"):
            worst += f" ({r['media_restarts']} media restarts)"  # the SFU gave up on subscribers' connections
        ratio = None if r.get("janus_ratio") is None else f"{r['janus_ratio']}x"
        per_process = r.get("cpu_percent_per_process") or []
        cpu = f"{r['cpu_percent']}" + (f" ({' + '.join(map(str, per_process))})" if len(per_process) > 1 else "")
        lines.append(
            f"| {r['mode']} | {r.get('path', '–')} | {processes} | {rooms} | {r['subscribers']} "
            f"| {fmt(r.get('packets_per_second'))} | {cpu} | {fmt(per_sub)} "
            f"| {fmt(r.get('us_per_packet'))} | {fmt(ratio)} | {fmt(worst)} "
            f"| {fmt(r.get('latency_p50_ms'))} / {fmt(r.get('latency_p95_ms'))} "
            f"| {fmt(r.get('load_cpu_percent'))} / {fmt(r.get('machine_load_1min'))} "
            f"| {fmt(r.get('sfu_udp_drops'))} / {fmt(r.get('load_udp_drops'))} |"
        )
    return "\n".join(lines)


class Runner:
    """Runs each point: its SFU, then one load process per room, measured over one shared window."""

    def __init__(self, args: argparse.Namespace, namespace: Namespace | None, janus_folder: Path | None) -> None:
        self.args = args
        self.namespace = namespace
        self.host = namespace.address if namespace else "127.0.0.1"
        self.launcher = Launcher(
            self.wrap, self.host, args.event_loop, janus_folder, args.media_node, args.cpu_budget
        )

    def wrap(self, argv: list[str]) -> list[str]:
        return self.namespace.command(argv) if self.namespace else argv

    def load_command(self, point: Point, sfu: Sfu, target: Target) -> list[str]:
        return self.wrap(
            [
                sys.executable,
                "-m",
                "bench.sfu_forwarding_load",
                *(["--port", str(target.port)] if target.port else []),
                *(["--url", target.url] if target.url else []),
                "--room",
                target.room,
                "--node",
                target.node,
                "--pid",
                str(target.pid),
                "--secret",
                sfu.secret,
                "--subscribers",
                str(point.subscribers),
                "--seconds",
                str(self.args.seconds),
                "--warmup",
                str(self.args.warmup),
                "--ice-host",
                self.host,
                "--signaling",
                sfu.signaling,
                "--go",
                *(["--light"] if self.args.light else []),
                *struggling_argv(self.args),
            ]
        )

    def point(self, point: Point) -> dict[str, Any]:
        with self.launcher.start(point.mode, point.rooms, point.processes) as sfu, contextlib.ExitStack() as stack:
            logs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in sfu.targets]
            loads = [
                subprocess.Popen(
                    self.load_command(point, sfu, target),
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
                for target, log in zip(sfu.targets, logs, strict=True)
            ]
            try:
                self._wait_warm(point, loads, logs)

                def snapshot() -> tuple[list[float], float, float, tuple[dict[int, int], dict[int, int]]]:
                    """SFU CPU per process, load clients' CPU, the time, UDP drops (SFU, clients)."""
                    return (
                        [cpu_seconds(p) for p in sfu.pids],
                        sum(cpu_seconds(p.pid) for p in loads),
                        time.monotonic(),
                        (drops(sfu.pids), drops([p.pid for p in loads])),
                    )

                sfu0, load0, t0, drops0 = snapshot()
                say(loads, "GO")
                time.sleep(self.args.seconds)
                sfu1, load1, t1, drops1 = snapshot()
                say(loads, "END")
                results = [self._result(point, load, log) for load, log in zip(loads, logs, strict=True)]
            finally:
                for load in loads:
                    if load.poll() is None:
                        load.kill()
                        load.wait(5)
        # One room: everything else its load process measured (struggling viewers, frame rates) rides along.
        alone = results[0] if len(results) == 1 else {}
        row = combine(point, results, [b - a for a, b in zip(sfu0, sfu1, strict=True)], load1 - load0, t1 - t0)
        return {
            **{k: v for k, v in alone.items() if k not in row},
            **row,
            "path": sfu.path,
            "room_nodes": [target.node for target in sfu.targets],
            # Datagrams the kernel dropped at full receive buffers in the window: who fell behind.
            "sfu_udp_drops": drops_between(drops0[0], drops1[0]),
            "load_udp_drops": drops_between(drops0[1], drops1[1]),
            "machine_load_1min": round(os.getloadavg()[0], 2),
        }

    def _wait_warm(self, point: Point, loads: list[subprocess.Popen[str]], logs: Sequence[IO[str]]) -> None:
        """Every room's subscribers have video and warmed up: each load process said "WARM"."""
        timeout = self.args.warmup + 240
        with concurrent.futures.ThreadPoolExecutor(len(loads)) as pool:
            lines = [pool.submit(first_line, load) for load in loads]
            try:
                said = [future.result(timeout) for future in lines]
            except concurrent.futures.TimeoutError:
                for load in loads:
                    load.kill()  # unblocks the readers
                raise RuntimeError(f"{point}: load processes not warm within {timeout:g} s") from None
        for line, log in zip(said, logs, strict=True):
            if line != "WARM":
                raise RuntimeError(f"{point}: load process failed:\n{tail(log)}")

    def _result(self, point: Point, load: subprocess.Popen[str], log: IO[str]) -> dict[str, Any]:
        out, _ = load.communicate(timeout=120)
        if load.returncode != 0 or not out.strip():
            raise RuntimeError(f"{point}: load process failed:\n{tail(log)}")
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result


def drops(pids: list[int]) -> dict[int, int]:
    return {inode: count for pid in pids for inode, count in udp_drops(pid).items()}


def first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


def say(processes: list[subprocess.Popen[str]], word: str) -> None:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(word + "\n")
        process.stdin.flush()


def tail(log: IO[str]) -> str:
    """The load process's first traceback (what failed), not the teardown noise after it."""
    log.seek(0)
    text = log.read()
    first = text.find("Traceback (most recent call last)")
    return text[first : first + 3000] if first >= 0 else text[-3000:]


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
        points: list[Point] = args.plan
        for index, point in enumerate(points):
            started = time.monotonic()
            try:
                row = runner.point(point)
                print(
                    f"{point.mode:>11} {point.processes}p {point.rooms}r {point.subscribers:>3} subscribers: "
                    f"{row['cpu_percent']:5.1f}% CPU {row['cpu_percent_per_process']}, "
                    f"load {row['load_cpu_percent']}%, {row.get('us_per_packet')} µs/packet, "
                    f"worst {row.get('worst_frames_ratio')} of frames, UDP drops {row['sfu_udp_drops']} SFU / "
                    f"{row['load_udp_drops']} clients ({time.monotonic() - started:.0f}s)",
                    file=sys.stderr,
                    flush=True,
                )
            except (RuntimeError, TimeoutError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
                # A layout the machine cannot even connect is a result too: the sweep goes on.
                print(f"{point}: {exc}", file=sys.stderr, flush=True)
                row = failed_row(point, exc)
            rows.append(row)
            following = points[index + 1] if index + 1 < len(points) else None
            if args.json and (following is None or ratio_group(following) != ratio_group(point)):
                # A count's lines once all its layouts and modes ran: each carries its ratio to Janus's.
                for line in with_janus_ratios([r for r in rows if ratio_group(r) == ratio_group(point)]):
                    print(json_line(line), flush=True)
    return with_janus_ratios(rows)


def failed_row(point: Point, exc: BaseException) -> dict[str, Any]:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if "Error" in line), lines[0] if lines else type(exc).__name__)
    return {**dataclasses.asdict(point), "error": reason[:200]}


def ratio_group(item: Point | dict[str, Any]) -> tuple[int, int]:
    if isinstance(item, Point):
        return item.subscribers, item.round
    return item["subscribers"], item["round"]


def write_docs(args: argparse.Namespace, rows: list[dict[str, Any]], text: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {
        "modes": args.modes,
        "light": args.light,
        "seconds_per_point": args.seconds,
        "rounds": args.rounds,
        "layouts": [{"rooms": rooms, "processes": processes} for rooms, processes in args.layouts],
        "media_node": args.media_node,
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
            *(["--scaling"] if args.scaling else []),
            *(["--rooms", str(args.rooms)] if args.rooms > 1 else []),
            *(["--processes", str(args.processes)] if args.processes > 1 else []),
            *(["--media-node"] if args.media_node and not (args.scaling or args.processes > 1) else []),
            *struggling_argv(args),
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
    text = struggling_columns(table(rows), rows)
    print()
    print(text)
    write_docs(args, rows, text)


if __name__ == "__main__":
    main()
