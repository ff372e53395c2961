"""The forwarding benchmark's rooms and processes: arguments, the points it plans, how rooms add up
to a row, and the media-node command and settings it runs the SFU with."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench.sfu_forwarding import JSON_KEYS, failed_row, json_line, parse_args, table, with_janus_ratios
from bench.sfu_forwarding_nodes import media_node_command, node_environment, parse_placement, room_codes
from bench.sfu_forwarding_plan import Point, combine, plan
from bench.sfu_forwarding_proc import drops_between, drops_by_inode


def args(*argv: str) -> argparse.Namespace:
    return parse_args([*argv, "--event-loop", "asyncio"])


def test_defaults_are_one_room_on_the_bench_server() -> None:
    parsed = args("--modes", "raw", "--subscribers", "16", "--light")
    assert (parsed.rooms, parsed.processes, parsed.media_node) == (1, 1, False)
    assert parsed.plan == [Point("raw", 16, 1, 1, 0)]


def test_processes_start_media_node_and_rooms_multiply_load_processes() -> None:
    parsed = args("--modes", "raw,passthrough", "--subscribers", "32", "--light", "--rooms", "2", "--processes", "2")
    assert parsed.media_node
    assert parsed.plan == [Point("raw", 32, 2, 2, 0), Point("passthrough", 32, 2, 2, 0)]


def test_scaling_runs_the_three_layouts_at_each_count_interleaved() -> None:
    parsed = args("--scaling", "--subscribers", "32,48", "--light", "--seconds", "10")
    assert parsed.modes == ["raw"] and parsed.media_node
    assert [(p.subscribers, p.processes, p.rooms) for p in parsed.plan] == [
        (32, 1, 1),
        (32, 1, 2),
        (32, 2, 2),
        (48, 1, 1),
        (48, 1, 2),
        (48, 2, 2),
    ]


def test_janus_runs_only_as_one_process_and_the_relay_only_one_room() -> None:
    points = plan(["raw", "janus", "relay"], [16], [(1, 1), (2, 1), (2, 2)], rounds=1)
    assert [(p.mode, p.rooms, p.processes) for p in points] == [
        ("raw", 1, 1),
        ("janus", 1, 1),
        ("relay", 1, 1),
        ("raw", 2, 1),
        ("janus", 2, 1),
        ("raw", 2, 2),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["--scaling", "--rooms", "2", "--light"],  # --scaling picks the layouts itself
        ["--rooms", "2"],  # several rooms count packets at light subscribers
        ["--processes", "0", "--light"],
        ["--modes", "janus", "--processes", "2", "--light"],  # nothing of ours to measure
        ["--rooms", "2", "--light", "--struggling", "1"],  # the struggling columns are one room's
    ],
)
def test_inconsistent_layouts_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        args(*argv)
    assert "error" in capsys.readouterr().err


def room(frames: float, p95: float, packets: int) -> dict[str, object]:
    return {
        "worst_frames_ratio": frames,
        "latency_p50_ms": p95 / 3,
        "latency_p95_ms": p95,
        "packets": packets,
        "published_fps": 30.0,
        "media_restarts": 1,
        "starved_subscribers": 0,
    }


def test_a_row_sums_cpu_and_packets_and_keeps_the_worst_room() -> None:
    row = combine(
        Point("raw", 64, rooms=2, processes=2),
        [room(0.995, 40.0, 150_000), room(0.97, 120.0, 148_000)],
        sfu_cpu_seconds=[4.0, 5.0],
        load_cpu_seconds=12.0,
        elapsed=10.0,
    )
    assert row["cpu_percent"] == 90.0 and row["cpu_percent_per_process"] == [40.0, 50.0]
    assert row["packets"] == 298_000 and row["packets_per_second"] == 29_800
    assert row["us_per_packet"] == round(9e6 / 298_000, 1)
    assert row["worst_frames_ratio"] == 0.97 and row["latency_p95_ms"] == 120.0
    assert row["load_cpu_percent"] == 120.0 and row["media_restarts"] == 2
    assert (row["rooms"], row["processes"]) == (2, 2)


def test_json_and_table_show_the_layout() -> None:
    rows = [
        {**combine(Point("raw", 64, 1, 1), [room(1.0, 9.0, 150_000)], [4.0], 6.0, 10.0), "path": "raw / uvloop"},
        {**combine(Point("raw", 64, 2, 2), [room(1.0, 9.0, 150_000)] * 2, [4.0, 4.2], 12.0, 10.0), "path": "raw"},
        {**combine(Point("janus", 64, 2, 1), [room(1.0, 9.0, 150_000)] * 2, [7.0], 12.0, 10.0), "path": "C"},
    ]
    rated = with_janus_ratios(rows)
    first = json.loads(json_line(rated[1]))
    assert list(first)[: len(JSON_KEYS)] == list(JSON_KEYS)
    assert (first["rooms"], first["processes"]) == (2, 2)
    # Two processes with two rooms are compared with Janus carrying the same two rooms.
    assert rated[1]["janus_ratio"] == round((8.2e6 / 300_000) / (7e6 / 300_000), 2)
    assert rated[0]["janus_ratio"] is None
    text = table(rated)
    assert "| raw | raw | 2 | 2 | 64 | 30000 | 82.0 (40.0 + 42.0) | 0.64 |" in text
    assert "| 100.0% (2 media restarts) |" in text  # each room's one restart, summed


def test_media_node_is_the_operators_command_with_the_runs_settings(tmp_path: Path) -> None:
    command = media_node_command("/venv/python", 2)
    assert command[:4] == ["/venv/python", "-m", "web.cli", "media-node"]
    assert command[command.index("--processes") + 1] == "2" and command[command.index("--port") + 1] == "0"
    env = node_environment(
        {"PATH": "/bin"},
        redis_url="redis://127.0.0.1:1234/0",
        secret="s3cret",
        ice_host="192.0.2.2",
        forwarding="raw",
        event_loop="uvloop",
        data_dir=tmp_path,
    )
    assert env["PATH"] == "/bin" and env["MENTORLIVE_REDIS_URL"] == "redis://127.0.0.1:1234/0"
    assert json.loads(env["MENTORLIVE_MEDIA_ICE_HOSTS"]) == ["192.0.2.2"]
    assert env["MENTORLIVE_MEDIA_FORWARDING"] == "raw" and env["MENTORLIVE_WEB_SECRET"] == "s3cret"


def test_placement_line_names_each_rooms_node_and_process() -> None:
    line = json.dumps(
        {
            "nodes": {"bench-1": 101, "bench-2": 102},
            "rooms": [
                {"room": "bench-1", "node": "bench-1", "url": "ws://127.0.0.1:4001/rtc", "pid": 101},
                {"room": "bench-2", "node": "bench-2", "url": "ws://127.0.0.1:4002/rtc", "pid": 102},
            ],
        }
    )
    nodes, rooms = parse_placement(line)
    assert nodes == {"bench-1": 101, "bench-2": 102}
    assert [(r.room, r.node, r.pid) for r in rooms] == [("bench-1", "bench-1", 101), ("bench-2", "bench-2", 102)]
    assert room_codes(2) == ["bench-1", "bench-2"]


def test_udp_drops_are_read_per_socket_inode() -> None:
    table = (
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref "
        "pointer drops\n"
        " 8908: 0100007F:8884 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 144376 2 "
        "00000000a2644e7a 0\n"
        "10511: 0100007F:CEC7 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 144380 2 "
        "00000000750dca76 37\n"
    )
    assert drops_by_inode(table) == {144376: 0, 144380: 37}


def test_a_point_that_failed_stays_in_the_table_with_its_reason() -> None:
    exc = RuntimeError("load process failed:\nTraceback ...\nTimeoutError: 3 of 128 subscribers received no video")
    row = failed_row(Point("raw", 128, 2, 2), exc)
    assert row["error"] == "TimeoutError: 3 of 128 subscribers received no video"
    assert "| raw | – | 2 | 2 | 128 | failed: TimeoutError: 3 of 128" in table(with_janus_ratios([row]))


def test_drops_in_a_window_never_go_negative_when_a_socket_closes() -> None:
    """A subscriber's connection replaced in the window took its socket's count away with it."""
    before = {1: 10, 2: 400}
    after = {1: 15, 3: 7}  # socket 2 closed, socket 3 opened
    assert drops_between(before, after) == 5 + 7
