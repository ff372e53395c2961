"""The forwarding benchmark's own logic: arguments, the JSON line, the ratio to Janus, the light
subscriber's RTP/VP8 reading and the Janus configuration it writes."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

from bench.sfu_forwarding import JSON_KEYS, json_line, parse_args, table, with_janus_ratios
from bench.sfu_forwarding_janus import write_config
from bench.sfu_forwarding_light import LatencySink, LightStats, clip_index, rtp_payload_offset, vp8_frame_start


def test_scripted_arguments() -> None:
    args = parse_args(
        [
            "--modes",
            "raw,passthrough,janus",
            "--subscribers",
            "16",
            "--light",
            "--seconds",
            "10",
            "--json",
            "--event-loop",
            "asyncio",
        ]
    )
    assert args.modes == ["raw", "passthrough", "janus"]
    assert args.subscribers == [16] and args.light and args.json and args.seconds == 10.0
    assert parse_args(["--subscribers", "8,16", "32", "--event-loop", "asyncio"]).subscribers == [8, 16, 32]


@pytest.mark.parametrize("argv", [["--modes", "passthrough,mediasoup"], ["--modes", "janus"], ["--subscribers", "-1"]])
def test_bad_arguments_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args([*argv, "--event-loop", "asyncio"])
    assert "error" in capsys.readouterr().err


def row(mode: str, n: int, us: float | None, round_: int = 0) -> dict[str, object]:
    return {
        "mode": mode,
        "subscribers": n,
        "cpu_percent": 20.0,
        "us_per_packet": us,
        "worst_frames_ratio": 0.995,
        "latency_p50_ms": 3.0,
        "latency_p95_ms": 9.5,
        "round": round_,
        "path": "frames / uvloop",
    }


def test_ratio_to_janus_is_taken_at_the_same_count_and_round() -> None:
    rows = with_janus_ratios(
        [
            row("passthrough", 16, 100.0),
            row("janus", 16, 40.0),
            row("raw", 16, 38.0),
            row("passthrough", 8, 90.0),
            row("janus", 16, 50.0, round_=1),
            row("passthrough", 16, 110.0, round_=1),
            row("raw", 32, None),
            row("janus", 32, 45.0),
        ]
    )
    ratios = [(r["mode"], r["subscribers"], r["round"], r["janus_ratio"]) for r in rows]
    assert ratios == [
        ("passthrough", 16, 0, 2.5),
        ("janus", 16, 0, 1.0),
        ("raw", 16, 0, 0.95),
        ("passthrough", 8, 0, None),
        ("janus", 16, 1, 1.0),
        ("passthrough", 16, 1, 2.2),
        ("raw", 32, 0, None),
        ("janus", 32, 0, 1.0),
    ]


def test_json_line_starts_with_the_agreed_keys() -> None:
    line = json_line(with_janus_ratios([row("raw", 16, 38.0), row("janus", 16, 40.0)])[0])
    parsed = json.loads(line)
    assert list(parsed)[: len(JSON_KEYS)] == list(JSON_KEYS)
    assert parsed["mode"] == "raw" and parsed["subscribers"] == 16 and parsed["janus_ratio"] == 0.95


def test_table_shows_ratio_and_worst_subscriber() -> None:
    text = table(with_janus_ratios([row("passthrough", 16, 100.0), row("janus", 16, 40.0)]))
    assert "| passthrough | frames / uvloop | 1 | 1 | 16 | – | 20.0 | 1.25 | 100.0 | 2.5x | 99.5% | 3.0 / 9.5 |" in text


def rtp(marker: bool, timestamp: int, payload: bytes, extension: bytes = b"") -> bytes:
    first = 0x80 | (0x10 if extension else 0)
    header = struct.pack("!BBHII", first, (0x80 if marker else 0) | 96, 1, timestamp, 1234)
    if extension:
        header += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    return header + payload


def test_rtp_and_vp8_descriptor_reading() -> None:
    assert rtp_payload_offset(rtp(False, 0, b"x", extension=b"\x10\xff\x00\x00")) == 20
    assert vp8_frame_start(b"\x10" + b"frame") == 1  # S=1, no extension
    assert vp8_frame_start(b"\x90\x80\x81\x02frame") == 4  # X, I with a two-byte picture id
    assert vp8_frame_start(b"\x90\xe0\x05\x07\x20frame") == 5  # X, I (one byte), L, T
    assert vp8_frame_start(b"\x00frame") is None  # continuation packet


def test_light_stats_count_frames_and_match_clip_frames() -> None:
    clip = [bytes([i]) * 40 for i in range(5)] + [bytes([1]) * 40]
    index = clip_index(clip)
    assert bytes([0]) * 24 in index and bytes([1]) * 24 not in index  # an ambiguous prefix is left out
    sink = LatencySink(samples=[])
    stats = LightStats(index, send_times={2: time.time() - 0.05}, sink=sink)
    frame = bytes([2]) * 40
    stats.on_rtp(rtp(False, 3000, b"\x10" + frame[:30], extension=b"\x10\xff\x00\x00"), "video")
    stats.on_rtp(rtp(True, 3000, b"\x00" + frame[30:]), "video")
    stats.on_rtp(rtp(True, 960, b"opus"), "audio")
    assert (stats.video_packets, stats.audio_packets, stats.frames, stats.packets) == (2, 1, 1, 3)
    assert sink.samples is not None and len(sink.samples) == 1 and 0.05 <= sink.samples[0] < 1
    stats.send_times[2] = 0.0  # decades ago: outside the 5 s a real frame can take, so no sample
    stats.on_rtp(rtp(False, 6000, b"\x10" + frame[:30]), "video")
    stats.on_rtp(rtp(True, 6000, b"\x00" + frame[30:]), "video")
    assert stats.frames == 2 and len(sink.samples) == 1


def janus_library(folder: Path) -> Path:
    """A folder laid out like Debian's /usr/lib/<arch>/janus (this test does not need Janus installed)."""
    for kind, names in {
        "plugins": ("libjanus_videoroom.so", "libjanus_echotest.so", "libjanus_sip.so"),
        "transports": ("libjanus_websockets.so", "libjanus_http.so"),
        "loggers": ("libjanus_jsonlog.so",),
        "events": (),
    }.items():
        (folder / kind).mkdir(parents=True)
        for name in names:
            (folder / kind / name).write_bytes(b"")
    return folder


def test_janus_config_keeps_to_the_videoroom_and_the_test_address(tmp_path: Path) -> None:
    lib = janus_library(tmp_path / "lib")
    folder = write_config(
        tmp_path / "janus", ws_port=23456, media_address="192.0.2.2", rtp_ports=(40000, 40100), lib=lib
    )
    general = (folder / "janus.jcfg").read_text()
    assert f'configs_folder = "{folder}"' in general
    assert 'ice_enforce_list = "192.0.2.2"' in general and "stun_server" not in general
    plugins = general.split("plugins: {")[1].split("}")[0]
    assert "libjanus_videoroom.so" not in plugins and "libjanus_echotest.so,libjanus_sip.so" in plugins
    transports = general.split("transports: {")[1].split("}")[0]
    assert "libjanus_websockets.so" not in transports and "libjanus_http.so" in transports
    assert f'plugins_folder = "{lib / "plugins"}"' in general
    assert 'rtp_port_range = "40000-40100"' in general
    ws = (folder / "janus.transport.websockets.jcfg").read_text()
    assert "ws_port = 23456" in ws and 'ws_ip = "127.0.0.1"' in ws
