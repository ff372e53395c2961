"""The forwarding benchmark's struggling viewers: `--struggling K`, the lossy link's counting,
the per-point ratios and the table's columns."""

from __future__ import annotations

import json
import random
import struct
import time

import pytest
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from bench.sfu_forwarding import json_line, parse_args, struggling_argv, struggling_columns, table
from bench.sfu_forwarding_struggling import Counts, DistinctFrames, FrameAges, LossyDownlink, summary


def test_struggling_viewers_are_asked_for_and_passed_to_the_load_process() -> None:
    args = parse_args(
        ["--modes", "raw,janus", "--subscribers", "16", "--light", "--struggling", "1", "--event-loop", "asyncio"]
    )
    assert args.struggling == 1 and struggling_argv(args) == ["--struggling", "1"]
    plain = parse_args(["--modes", "raw,janus", "--subscribers", "16", "--light", "--event-loop", "asyncio"])
    assert plain.struggling == 0 and struggling_argv(plain) == []


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_bad_struggling_count_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--struggling", value, "--event-loop", "asyncio"])
    assert "--struggling" in capsys.readouterr().err


def rtp(payload_type: int) -> bytes:
    return struct.pack("!BBHII", 0x80, payload_type, 1, 0, 1234) + b"payload"


def test_the_lossy_link_loses_its_share_and_counts_what_was_sent_into_it() -> None:
    link = LossyDownlink({96: "video", 111: "audio"}, loss=0.2, rng=random.Random(7))
    dropped = {"audio": 0, "video": 0}
    # 97 is the video's RTX, which the receiver may not have registered: counted as video.
    for pt, kind in [(96, "video")] * 1000 + [(111, "audio")] * 500 + [(97, "video")] * 100:
        dropped[kind] += link(rtp(pt))
    assert link.sent == {"audio": 500, "video": 1100}
    assert {k: link.sent[k] - link.delivered[k] for k in dropped} == dropped
    assert 0.15 < dropped["video"] / 1100 < 0.25 and 0.15 < dropped["audio"] / 500 < 0.25


class Queue:
    def __init__(self) -> None:
        self.items: list[object] = []

    def put(self, item: object) -> None:
        self.items.append(item)


def test_a_frame_handed_out_again_counts_once_and_still_reaches_the_receiver() -> None:
    inner = Queue()
    ages = FrameAges({b"clip frame 1".ljust(24, b"."): 1}, {1: time.time() - 0.2}, samples=[])
    frames = DistinctFrames(inner, ages)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    # A stale retransmission restarted the jitter buffer at 3000: 3000 and 6000 come out again.
    for timestamp in (3000, 6000, 9000, 3000, 6000, 12000):
        frames.put((vp8, JitterFrame(data=b"clip frame 1".ljust(30, b"."), timestamp=timestamp)))
    frames.put(None)
    assert len(frames.timestamps) == 4
    assert len(inner.items) == 7 and inner.items[-1] is None
    # Each frame's age once, from the publisher's send of the clip frame its first bytes name.
    assert ages.samples is not None and len(ages.samples) == 4 and all(0.2 <= age < 1 for age in ages.samples)


def test_ratios_are_over_what_the_publisher_sent_in_the_window() -> None:
    before = [Counts(100, 200, 300, 500, 1), Counts(90, 210, 280, 490, 0)]
    after = [Counts(130, 600, 320, 920, 4), Counts(100, 590, 290, 880, 2)]
    keys = summary(
        before,
        after,
        published_frames=300,
        published_audio_packets=500,
        published_video_packets=1000,
        paused=[2.4, None],
        resumes=0,
        ages=[0.5, 0.05, 0.02, 0.04, 1.5, 0.03, 0.03, 0.03, 0.03, 0.03],
    )
    # Video (frames and what the SFU sent into the link): the most any struggling viewer got;
    # audio: the least; every RTP packet sent into their links counts as forwarded.
    assert keys["struggling"] == 2 and keys["struggling_loss"] == 0.2
    assert keys["struggling_video_ratio"] == 0.1
    assert keys["struggling_audio_ratio"] == 0.76
    assert keys["struggling_link_video_ratio"] == 0.02
    assert keys["struggling_paused"] == [2.4, None] and keys["struggling_resumes"] == 0
    assert keys["struggling_link_packets"] == 420 + 390
    assert keys["struggling_keyframe_requests"] == 3 + 2
    assert keys["struggling_latency_p50_ms"] == 30.0 and keys["struggling_latency_p95_ms"] == 1500.0


def test_without_struggling_viewers_the_keys_are_empty() -> None:
    keys = summary(
        [],
        [],
        published_frames=300,
        published_audio_packets=500,
        published_video_packets=1000,
        paused=[],
        resumes=0,
    )
    assert keys["struggling"] == 0 and keys["struggling_link_packets"] == 0
    empty = ("struggling_video_ratio", "struggling_audio_ratio", "struggling_paused", "struggling_latency_p95_ms")
    assert all(keys[k] is None for k in empty)


def row(mode: str, **struggling: object) -> dict[str, object]:
    return {
        "mode": mode,
        "subscribers": 16,
        "cpu_percent": 20.0,
        "us_per_packet": 40.0,
        "worst_frames_ratio": 1.0,
        "latency_p50_ms": 3.0,
        "latency_p95_ms": 9.5,
        "path": "raw / uvloop",
        "healthy_packets_per_s": 160.5,
        "keyframe_requests": 1,
        **struggling,
    }


def test_the_table_shows_what_the_struggling_viewer_got_and_when_it_was_paused() -> None:
    rows = [
        row(
            "raw",
            struggling=1,
            struggling_video_ratio=0.02,
            struggling_audio_ratio=0.81,
            struggling_link_video_ratio=0.031,
            struggling_paused=[3.1],
            struggling_latency_p95_ms=None,
            struggling_keyframe_requests=3,
        ),
        row(
            "janus",
            struggling=1,
            struggling_video_ratio=0.58,
            struggling_audio_ratio=0.8,
            struggling_link_video_ratio=1.07,
            struggling_paused=None,
            struggling_latency_p95_ms=850.0,
            struggling_keyframe_requests=40,
        ),
    ]
    text = struggling_columns(table(rows), rows)
    head, _, raw, janus = text.split("\n")
    assert "struggling viewer" in head and head.count("|") == raw.count("|") == janus.count("|")
    assert raw.endswith("| 2.0% (–) | 81.0% | 3.1% | after 3.1 s | 160.5 | 3 / 1 |")
    assert janus.endswith("| 58.0% (850.0 ms) | 80.0% | 107.0% | – | 160.5 | 40 / 1 |")
    assert json.loads(json_line(rows[0]))["struggling_paused"] == [3.1]


def test_a_run_without_struggling_viewers_keeps_its_table() -> None:
    rows = [row("raw", struggling=0)]
    assert struggling_columns(table(rows), rows) == table(rows)
