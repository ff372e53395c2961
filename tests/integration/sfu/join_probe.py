"""A real join with media in a fresh process: the SFU (web app wiring, config read the
operator's way) and two aiortc clients, a publisher and a subscriber, on loopback.

Run by test_no_egress (inside a network namespace, recording what leaves) and by
test_event_loop (on uvloop). Prints one JSON line: frames the subscriber received, the
loop that ran, and (with --record) every IPv4 packet that left the namespace's interface.

    python -m tests.integration.sfu.join_probe [--ice-servers JSON] [--ice-hosts JSON] [--client-host IP]
        [--event-loop uvloop] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from media_server import sign_join_token
from media_server.event_loop import loop_kind, new_event_loop
from media_server.testing.client import SfuClient
from media_server.testing.netns import EgressRecorder
from media_server.testing.synthetic import ClipTrack, encode_opus_clip, encode_vp8_clip
from web import keys
from web.config import load_config
from web.room.sfu import setup_rtc

SECRET = "join-probe-secret"


async def join(
    ice_servers: list[Any], ice_hosts: list[str], client_hosts: tuple[str, ...], settle: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as recordings:
        app = web.Application()
        app[keys.CONFIG] = load_config(
            environ={},
            overrides={
                "media": {"ice_hosts": ice_hosts, "ice_servers": ice_servers},
                "recordings": {"dir": recordings},
            },
        )
        app[keys.SECRET] = SECRET
        setup_rtc(app)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/rtc"
        now = datetime.now(UTC)

        def token(user: str, role: str) -> str:
            return sign_join_token(
                SECRET,
                user_id=user,
                name=user,
                role=role,
                room="probe",
                node="local",
                record=False,
                ttl_seconds=600,
                now=now,
            )

        publisher = SfuClient(url, token("mentor", "mentor"), ice_hosts=client_hosts, keep_bytes=False)
        subscriber = SfuClient(url, token("learner", "learner"), ice_hosts=client_hosts, keep_bytes=False)
        try:
            camera = ClipTrack("video", encode_vp8_clip(60), fps=30, clock_rate=90000)
            microphone = ClipTrack("audio", encode_opus_clip(100), fps=50, clock_rate=48000)
            started = time.monotonic()
            await publisher.connect({"camera": camera, "microphone": microphone})
            await subscriber.connect()

            def frames(kind: str) -> int:
                return sum(r.count for r in subscriber.received.values() if r.kind == kind)

            await subscriber.wait_until(lambda: frames("video") >= 30 and frames("audio") >= 25, within=60)
            joined = time.monotonic() - started
            # Consent freshness and RTCP keep running: give late traffic the time to show.
            await asyncio.sleep(settle)
            return {
                "video_frames": frames("video"),
                "audio_frames": frames("audio"),
                "join_seconds": round(joined, 2),
                "loop": loop_kind(asyncio.get_running_loop()),
            }
        finally:
            await subscriber.close()
            await publisher.close()
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ice-servers", default="[]", help="[media] ice_servers as JSON")
    parser.add_argument("--ice-hosts", default='["127.0.0.1"]', help="[media] ice_hosts as JSON")
    parser.add_argument("--client-host", default="127.0.0.1", help="the clients' one ICE host address")
    parser.add_argument("--event-loop", default="asyncio")
    parser.add_argument("--record", action="store_true", help="record IPv4 leaving on the namespace's v0")
    parser.add_argument("--settle", type=float, default=2.0)
    args = parser.parse_args()
    recorder = EgressRecorder() if args.record else None
    if recorder is not None:
        recorder.start()
    loop = new_event_loop(args.event_loop)
    try:
        result = loop.run_until_complete(
            join(json.loads(args.ice_servers), json.loads(args.ice_hosts), (args.client_host,), args.settle)
        )
    finally:
        loop.close()
    if recorder is not None:
        result["egress"] = [str(e) for e in recorder.stop()]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
