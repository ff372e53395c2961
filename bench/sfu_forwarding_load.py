"""The load process of the benchmark: one publisher and N subscribers, all aiortc.

The same clients drive every SFU; only the signaling differs: media_server's /rtc
(`--signaling rtc`, passthrough, raw and relay modes) or Janus's VideoRoom WebSocket API
(`--signaling janus`). Subscribers are either full aiortc receivers (jitter buffer, one
probe subscriber decoding each frame's index for latency) or, with `--light`, counters on
the RTP headers (bench.sfu_forwarding_light), which is what reaches 64+ subscribers.
`--struggling K` adds K full receivers whose downlink loses 20 % once every subscriber has
video (bench.sfu_forwarding_struggling): the SFU's congestion response, measured.

Prints one JSON line with the measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from bench.sfu_forwarding_janus import JanusError, JanusSession
from bench.sfu_forwarding_light import LatencySink, LightStats, clip_index, install_light_receiving
from bench.sfu_forwarding_struggling import (
    FrameAges,
    Struggler,
    Strugglers,
    summary,
    tap_full_receiving,
    video_packets_sent,
)
from media_server import event_loop, peer, sign_join_token
from media_server.aiortc_hooks import outbound
from media_server.codecs import codec_for
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


def percentile(sorted_values: list[float], share: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


async def read_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


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


class Subscriber:
    """What the measurement needs of a subscriber, whatever its signaling and receiving."""

    def __init__(self, pc: Callable[[], RTCPeerConnection | None], full: SfuClient | None = None) -> None:
        self._pc = pc
        self.full = full
        # Every transport's counters this subscriber had: a media restart (new peer connection) adds one.
        self._light: dict[int, LightStats] = {}

    def light(self) -> list[LightStats]:
        pc = self._pc()
        for transceiver in pc.getTransceivers() if pc is not None else []:
            stats = getattr(transceiver.receiver.transport, "_bench_light", None)
            if isinstance(stats, LightStats):
                self._light.setdefault(id(stats), stats)
        return list(self._light.values())

    def frames(self) -> int:
        if self.full is not None:
            return sum(r.count for r in self.full.received.values() if r.kind == "video")
        return sum(stats.frames for stats in self.light())

    def packets(self) -> int:
        return sum(stats.packets for stats in self.light())

    def state(self) -> str:
        pc = self._pc()
        return "none" if pc is None else str(pc.connectionState)


def same(pc: RTCPeerConnection) -> RTCPeerConnection | None:
    return pc


class Publisher:
    def __init__(self, clip: list[bytes]) -> None:
        self.camera = ClipTrack("video", clip, fps=30, clock_rate=90000)
        self.microphone = ClipTrack("audio", encode_opus_clip(50), fps=50, clock_rate=48000)
        self.send_times: dict[int, float] = {}
        self.camera.on_sent = self.send_times.__setitem__


class RtcLoad:
    """media_server's /rtc signaling (and the relay's, which speaks the same subset)."""

    def __init__(self, args: argparse.Namespace, publisher: Publisher) -> None:
        self.url = args.url or f"http://127.0.0.1:{args.port}/rtc"
        self.secret = args.secret
        self.room, self.node = args.room, args.node
        self.hosts = (args.ice_host,)
        self.light = args.light
        self.publisher = publisher
        self.clients: list[SfuClient] = []
        self.probe = Probe(publisher.send_times)
        self.now = datetime.now(UTC)

    def token(self, user: str, role: str = "learner") -> str:
        return sign_join_token(
            self.secret,
            user_id=user,
            name=user,
            role=role,
            room=self.room,
            node=self.node,
            record=False,
            ttl_seconds=3600,
            now=self.now,
        )

    async def start(self, count: int) -> list[Subscriber]:
        pub = SfuClient(self.url, self.token("publisher", "mentor"), ice_hosts=self.hosts, keep_bytes=False)
        self.clients.append(pub)
        await pub.connect({"camera": self.publisher.camera, "microphone": self.publisher.microphone})
        subscribers = []
        for i in range(count):
            client = SfuClient(self.url, self.token(f"sub{i}"), ice_hosts=self.hosts, keep_bytes=False)
            self.clients.append(client)
            if i == 0 and not self.light:
                client.frame_hook = self.probe
            await client.connect()
            subscribers.append(Subscriber(partial(getattr, client, "pc"), None if self.light else client))
        return subscribers

    async def add_struggling(self, count: int, strugglers: Strugglers) -> None:
        """Full receivers (whatever --light says), registered before they connect: the light
        hook asks `strugglers` at each transport's first packet."""
        for i in range(count):
            client = SfuClient(self.url, self.token(f"struggling{i}"), ice_hosts=self.hosts, keep_bytes=False)
            self.clients.append(client)

            def video_frames(c: SfuClient = client) -> int:
                return sum(r.count for r in c.received.values() if r.kind == "video")

            strugglers.viewers.append(Struggler(partial(getattr, client, "pc"), video_frames, client.messages))
            await client.connect()

    def publisher_pc(self) -> RTCPeerConnection | None:
        return self.clients[0].pc if self.clients else None

    def restarts(self) -> int:
        return sum(sum(1 for m in c.messages if m.get("type") == "offer" and m.get("restart")) for c in self.clients)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


class JanusLoad:
    """Janus's VideoRoom: the publisher offers, Janus offers to each subscriber."""

    def __init__(self, args: argparse.Namespace, publisher: Publisher) -> None:
        self.session = JanusSession(f"ws://127.0.0.1:{args.port}/")
        self.hosts = (args.ice_host,)
        self.publisher = publisher
        self.pcs: list[RTCPeerConnection] = []
        self.room = 0
        self.feed = 0

    async def start(self, count: int) -> list[Subscriber]:
        await self.session.open()
        admin = await self.session.attach()
        room = random.randrange(1_000_000, 9_000_000)
        await self.session.plugin_request(
            admin,
            {
                "request": "create",
                "room": room,
                "publishers": 4,
                "bitrate": 2_000_000,
                "fir_freq": 10,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "record": False,
            },
        )
        feed = await self._publish(room)
        self.room, self.feed = room, feed
        subscribers = []
        for _ in range(count):
            pc = await self._subscribe(room, feed)
            subscribers.append(Subscriber(partial(same, pc)))
        return subscribers

    async def _publish(self, room: int) -> int:
        handle = await self.session.attach()
        pc = peer.new_peer_connection()
        self.pcs.append(pc)
        tracks: list[tuple[str, MediaStreamTrack]] = [
            ("camera", self.publisher.camera),
            ("microphone", self.publisher.microphone),
        ]
        for source, track in tracks:
            codec = codec_for(source)
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(codec.preferences())
            outbound.install_packer(transceiver.sender, codec.mime_type)
            if source == "camera":
                outbound.on_keyframe_request(transceiver.sender, self.publisher.camera.request_keyframe)
        peer.prepare_local_description(pc, self.hosts)
        await pc.setLocalDescription(await pc.createOffer())
        await self.session.message(
            handle,
            {
                "request": "joinandconfigure",
                "room": room,
                "ptype": "publisher",
                "display": "publisher",
                "audio": True,
                "video": True,
            },
            {"type": "offer", "sdp": pc.localDescription.sdp},
        )
        await self.session.trickle_done(handle)
        feed: int | None = None
        while True:
            event = await self.session.event(handle)
            data = event.get("plugindata", {}).get("data", {})
            if data.get("videoroom") == "joined":
                feed = int(data["id"])
            if "jsep" in event:
                await pc.setRemoteDescription(RTCSessionDescription(**event["jsep"]))
            if feed is not None and pc.remoteDescription is not None:
                return feed

    async def add_struggling(self, count: int, strugglers: Strugglers) -> None:
        """Full receivers of the same feed; Janus has no pause message, so no messages to watch."""

        def prepare(pc: RTCPeerConnection) -> None:
            frames = tap_full_receiving(pc)
            strugglers.viewers.append(Struggler(partial(same, pc), partial(getattr, frames, "count")))

        for _ in range(count):
            await self._subscribe(self.room, self.feed, prepare)

    def publisher_pc(self) -> RTCPeerConnection | None:
        return self.pcs[0] if self.pcs else None

    async def _subscribe(
        self, room: int, feed: int, prepare: Callable[[RTCPeerConnection], None] | None = None
    ) -> RTCPeerConnection:
        handle = await self.session.attach()
        deadline = time.monotonic() + 60
        while True:
            # A feed exists for subscribers once its PeerConnection is up, a moment after the answer.
            await self.session.message(
                handle, {"request": "join", "room": room, "ptype": "subscriber", "streams": [{"feed": feed}]}
            )
            try:
                event = await self.session.event(handle)
            except JanusError as exc:
                if "No such feed" not in str(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
                continue
            if "jsep" in event:
                break
        pc = peer.new_peer_connection()
        self.pcs.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(**event["jsep"]))
        if prepare is not None:
            prepare(pc)
        peer.prepare_local_description(pc, self.hosts)
        await pc.setLocalDescription(await pc.createAnswer())
        await self.session.message(
            handle, {"request": "start", "room": room}, {"type": "answer", "sdp": pc.localDescription.sdp}
        )
        await self.session.trickle_done(handle)
        return pc

    def restarts(self) -> int:
        return 0  # Janus never replaces a subscriber's peer connection on its own

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()
        await self.session.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    clip = load_clip()
    publisher = Publisher(clip)
    sink = LatencySink()
    index = clip_index(clip)
    strugglers = Strugglers(FrameAges(index, publisher.send_times))
    if args.light:
        install_light_receiving(lambda: LightStats(index, publisher.send_times, sink), strugglers.owns)
    load: RtcLoad | JanusLoad = JanusLoad(args, publisher) if args.signaling == "janus" else RtcLoad(args, publisher)
    subscribers = await load.start(args.subscribers)
    await load.add_struggling(args.struggling, strugglers)
    everyone: list[Subscriber | Struggler] = [*subscribers, *strugglers.viewers]
    deadline = time.monotonic() + 60
    while not all(s.frames() for s in everyone):
        if time.monotonic() > deadline:
            missing = sum(1 for s in everyone if not s.frames())
            raise TimeoutError(f"{missing} of {len(everyone)} subscribers received no video within 60 s")
        await asyncio.sleep(0.05)
    # The struggling viewers' links start losing now: the warm-up shows the SFU's first response.
    strugglers.start_loss()
    await asyncio.sleep(args.warmup)
    publisher_pc = load.publisher_pc()

    stats_url = f"http://127.0.0.1:{args.port}/bench/stats" if args.signaling == "rtc" and args.port else None
    async with aiohttp.ClientSession() as http:
        before = await (await http.get(stats_url)).json() if stats_url else {}
        if args.go:
            # Every room's load process measures the orchestrator's window: from its "GO" line to its
            # "END" line, while it reads the SFU processes' CPU (stats requests stay outside).
            print("WARM", flush=True)
            await read_line()
        sink.samples = []
        strugglers.ages.samples = []
        restarts0 = load.restarts()
        cpu0, t0, sent0 = cpu_seconds(args.pid), time.monotonic(), len(publisher.camera.sent)
        frames0, packets0 = [s.frames() for s in subscribers], [s.packets() for s in subscribers]
        struggling0, audio0 = strugglers.counts(), len(publisher.microphone.sent)
        keyframes0 = publisher.camera.keyframe_requests
        video_packets0 = await video_packets_sent(publisher_pc) if publisher_pc else 0
        own0 = time.process_time()
        if isinstance(load, RtcLoad):
            load.probe.recording = True
        await (read_line() if args.go else asyncio.sleep(args.seconds))
        if isinstance(load, RtcLoad):
            load.probe.recording = False
        cpu1, t1, sent1 = cpu_seconds(args.pid), time.monotonic(), len(publisher.camera.sent)
        frames1, packets1 = [s.frames() for s in subscribers], [s.packets() for s in subscribers]
        struggling1, audio1 = strugglers.counts(), len(publisher.microphone.sent)
        keyframes1 = publisher.camera.keyframe_requests
        struggling_ages, strugglers.ages.samples = strugglers.ages.samples or [], None
        own1 = time.process_time()
        video_packets1 = await video_packets_sent(publisher_pc) if publisher_pc else 0
        restarts1 = load.restarts()
        states = sorted(s.state() for s in subscribers)
        after = await (await http.get(stats_url)).json() if stats_url else {}
    latencies = sorted(sink.samples or [])
    sink.samples = None
    if not args.light and isinstance(load, RtcLoad):
        latencies = sorted(load.probe.latencies)
    struggling = summary(
        struggling0,
        struggling1,
        published_frames=sent1 - sent0,
        published_audio_packets=audio1 - audio0,
        published_video_packets=video_packets1 - video_packets0,
        paused=[v.paused_after() for v in strugglers.viewers] if args.signaling == "rtc" else None,
        resumes=sum(len(v.resumed_at) for v in strugglers.viewers) if args.signaling == "rtc" else None,
        ages=struggling_ages,
    )
    await strugglers.close()
    await load.close()
    elapsed = t1 - t0
    published = sent1 - sent0
    delivered = [b - a for a, b in zip(frames0, frames1, strict=True)]
    healthy_packets = sum(b - a for a, b in zip(packets0, packets1, strict=True))
    if args.light:
        # The struggling viewers' full receivers are not counted by the light hook: their links are.
        packets = healthy_packets + struggling["struggling_link_packets"]
    else:
        packets = after["packets_sent"] - before["packets_sent"]
    cpu = cpu1 - cpu0
    return {
        "subscribers": args.subscribers,
        "seconds": round(elapsed, 2),
        "cpu_percent": round(100 * cpu / elapsed, 1),
        "load_cpu_percent": round(100 * (own1 - own0) / elapsed, 1),
        "machine_load_1min": round(os.getloadavg()[0], 2),
        "packets": packets,
        "packets_counted_at": "subscribers (RTP)" if args.light else "SFU transports (RTP+RTCP)",
        # Below a few hundred packets (no subscribers) this would only measure RTCP.
        "us_per_packet": round(1e6 * cpu / packets, 1) if packets > 500 else None,
        "ms_per_delivered_frame": round(1000 * cpu / sum(delivered), 3) if sum(delivered) else None,
        "published_fps": round(published / elapsed, 1),
        "delivered_fps_min": round(min(delivered) / elapsed, 1) if delivered else None,
        "delivered_fps_mean": round(statistics.mean(delivered) / elapsed, 1) if delivered else None,
        "worst_frames_ratio": round(min(delivered) / published, 3) if delivered and published else None,
        "latency_p50_ms": None if not latencies else round(1000 * (percentile(latencies, 0.5) or 0), 1),
        "latency_p95_ms": None if not latencies else round(1000 * (percentile(latencies, 0.95) or 0), 1),
        "latency_samples": len(latencies),
        # Peer connections replaced (media restarts) in the window: the SFU gave up on a client's.
        "media_restarts": restarts1 - restarts0,
        # Subscribers that received no video frame in the window, and their peer connections' states.
        "starved_subscribers": sum(1 for d in delivered if d == 0),
        "subscriber_states": {state: states.count(state) for state in sorted(set(states))},
        "decode_calls": after.get("decode_calls"),
        "encode_calls": after.get("encode_calls"),
        **struggling,
        # What a subscriber's link carries (light: RTP per healthy subscriber per second) and how
        # often the SFU made the publisher restart at a keyframe: a viewer's PLIs passed on cost every
        # subscriber bandwidth.
        "healthy_packets_per_s": round(healthy_packets / len(delivered) / elapsed, 1)
        if args.light and delivered
        else None,
        "keyframe_requests": keyframes1 - keyframes0,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0, help="the bench SFU's or Janus's port (stats, signaling)")
    p.add_argument("--url", default="", help="/rtc URL (default: the bench SFU's on --port)")
    p.add_argument("--room", default="bench", help="the room the join tokens name")
    p.add_argument("--node", default="local", help="the media node the join tokens name")
    p.add_argument("--pid", type=int, required=True, help="the SFU process whose CPU is measured")
    p.add_argument(
        "--go", action="store_true", help='print "WARM" after warm-up; measure from a line on stdin to the next'
    )
    p.add_argument("--secret", default="")
    p.add_argument("--signaling", choices=["rtc", "janus"], default="rtc")
    p.add_argument("--ice-host", default="127.0.0.1", help="the clients' ICE host address")
    p.add_argument("--light", action="store_true", help="count RTP headers instead of receiving frames")
    p.add_argument("--subscribers", type=int, required=True)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--struggling", type=int, default=0, help="full receivers behind a downlink losing 20 %%")
    return p


def main() -> None:
    # uvloop where installed: its UDP receive path costs the load clients less (the same in every mode).
    with asyncio.Runner(loop_factory=partial(event_loop.new_event_loop, "uvloop")) as runner:
        print(json.dumps(runner.run(run(parser().parse_args()))), flush=True)


if __name__ == "__main__":
    main()
