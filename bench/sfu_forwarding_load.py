"""The load process of the benchmark: one publisher and N subscribers, all aiortc, no codecs
except one probe subscriber that decodes video to read each frame's index (for latency).

Prints one JSON line with the measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import av

from media_server import sign_join_token
from media_server.testing.client import Received, SfuClient
from media_server.testing.synthetic import ClipTrack, encode_opus_clip, encode_vp8_clip, read_marker

CLIP = dict(frames=300, width=640, height=480, fps=30, bitrate=1_000_000)


def load_clip() -> list[bytes]:
    """640x480 VP8 at ~1 Mbps, encoded once and cached (encoding takes ~10 s)."""
    name = "mentorlive-bench-vp8-{frames}-{width}x{height}-{bitrate}.pickle".format(**CLIP)
    path = Path(tempfile.gettempdir()) / name
    if path.exists():
        return list(pickle.loads(path.read_bytes()))
    frames = encode_vp8_clip(CLIP["frames"], CLIP["width"], CLIP["height"], CLIP["fps"], CLIP["bitrate"])
    path.write_bytes(pickle.dumps(frames))
    return frames


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Probe:
    """Decodes one subscriber's video and matches each frame's marker to its send time."""

    def __init__(self, send_times: dict[int, float]) -> None:
        self.send_times = send_times
        self.decoder = av.CodecContext.create("libvpx", "r")
        self.latencies: list[float] = []
        self.recording = False

    def __call__(self, received: Received, data: bytes) -> None:
        if received.kind != "video":
            return
        try:
            frames = self.decoder.decode(av.Packet(data))
        except av.FFmpegError:
            return
        now = time.time()
        for frame in frames:
            sent = self.send_times.get(read_marker(frame))
            if self.recording and sent is not None and 0 <= now - sent < 5:
                self.latencies.append(now - sent)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = f"http://127.0.0.1:{args.port}/rtc"
    now = datetime.now(UTC)

    def token(user: str, role: str = "learner") -> str:
        return sign_join_token(args.secret, user_id=user, name=user, role=role, room="bench", node="local",
                               record=False, ttl_seconds=3600, now=now)

    vp8 = load_clip()
    camera = ClipTrack("video", vp8, fps=30, clock_rate=90000)
    mic = ClipTrack("audio", encode_opus_clip(50), fps=50, clock_rate=48000)
    send_times: dict[int, float] = {}
    camera.on_sent = send_times.__setitem__
    publisher = SfuClient(url, token("publisher", "mentor"), keep_bytes=False)
    await publisher.connect({"camera": camera, "microphone": mic})
    subscribers = [SfuClient(url, token(f"sub{i}"), keep_bytes=False) for i in range(args.subscribers)]
    probe = Probe(send_times)
    if subscribers:
        subscribers[0].frame_hook = probe
    for sub in subscribers:
        await sub.connect()
    for sub in subscribers:
        await sub.wait_until(lambda s=sub: any(r.kind == "video" and r.count for r in s.received.values()), within=30)
    await asyncio.sleep(args.warmup)

    def video_counts() -> list[int]:
        return [sum(r.count for r in s.received.values() if r.kind == "video") for s in subscribers]

    async with aiohttp.ClientSession() as http:
        stats_url = f"http://127.0.0.1:{args.port}/bench/stats"
        before = await (await http.get(stats_url)).json()
        cpu0, t0, sent0, counts0 = cpu_seconds(args.pid), time.monotonic(), len(camera.sent), video_counts()
        own0 = time.process_time()
        probe.recording = True
        await asyncio.sleep(args.seconds)
        probe.recording = False
        cpu1, t1, sent1, counts1 = cpu_seconds(args.pid), time.monotonic(), len(camera.sent), video_counts()
        own1 = time.process_time()
        after = await (await http.get(stats_url)).json()
    elapsed = t1 - t0
    published = sent1 - sent0
    delivered = [c1 - c0 for c0, c1 in zip(counts0, counts1, strict=True)]
    packets = after["packets_sent"] - before["packets_sent"]
    cpu = cpu1 - cpu0
    for client in [publisher, *subscribers]:
        await client.close()
    lat = sorted(probe.latencies)
    return {
        "subscribers": args.subscribers,
        "seconds": round(elapsed, 2),
        "sfu_cpu_percent": round(100 * cpu / elapsed, 1),
        "load_cpu_percent": round(100 * (own1 - own0) / elapsed, 1),
        "machine_load_1min": round(os.getloadavg()[0], 2),
        "packets_sent": packets,
        # Below a few hundred packets (no subscribers) this would only measure RTCP.
        "us_per_packet": round(1e6 * cpu / packets, 1) if packets > 500 else None,
        "ms_per_delivered_frame": round(1000 * cpu / sum(delivered), 3) if sum(delivered) else None,
        "published_fps": round(published / elapsed, 1),
        "delivered_fps_min": round(min(delivered) / elapsed, 1) if delivered else None,
        "delivered_fps_mean": round(statistics.mean(delivered) / elapsed, 1) if delivered else None,
        "delivered_ratio_min": round(min(delivered) / published, 3) if delivered and published else None,
        "latency_ms_p50": round(1000 * lat[len(lat) // 2], 1) if lat else None,
        "latency_ms_p95": round(1000 * lat[int(len(lat) * 0.95)], 1) if lat else None,
        "decode_calls": after["decode_calls"],
        "encode_calls": after["encode_calls"],
        "decoders_created": after["decoders_created"],
        "encoders_created": after["encoders_created"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--subscribers", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
