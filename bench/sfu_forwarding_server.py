"""The SFU process of the benchmark: media_server (frames or raw forwarding) or MediaRelay, plus a stats URL.

Run by bench.sfu_forwarding; prints "READY <port> <json>" when it listens, the JSON saying which
forwarding path and event loop actually run. media_server's settings are read the operator's
way (config.toml + MENTORLIVE_* environment): the orchestrator selects the path with
MENTORLIVE_MEDIA_FORWARDING ("raw" or "frames"), so a build without `[media] forwarding`
runs frames and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from aiortc import RTCPeerConnection

from bench.sfu_forwarding_relay import RelayServer
from media_server import MediaNode, MediaSettings
from media_server.event_loop import loop_kind, new_event_loop
from media_server.signaling import handle_rtc
from media_server.testing.codec_audit import CodecCounter, count_codec_use
from web.config import load_config
from web.room.sfu import settings_from_config

MODES = ("passthrough", "raw", "relay")


async def transport_packets(pcs: list[RTCPeerConnection]) -> dict[str, int]:
    sent = received = 0
    seen: set[str] = set()
    for pc in pcs:
        if pc.connectionState == "closed":
            continue
        for stats in (await pc.getStats()).values():
            if stats.type == "transport" and stats.id not in seen:
                seen.add(stats.id)
                sent += stats.packetsSent
                received += stats.packetsReceived
    return {"packets_sent": sent, "packets_received": received}


def media_settings(ice_host: str) -> MediaSettings:
    config = load_config(overrides={"media": {"ice_hosts": [ice_host]}})
    return dataclasses.replace(
        settings_from_config(config), recordings_dir=Path("/tmp/mentorlive-bench"), quality_interval=2.0
    )


def forwarding_of(settings: MediaSettings) -> str:
    """The path this build runs: `[media] forwarding` where it exists, else the frame path."""
    return str(getattr(settings, "forwarding", "frames"))


def build_app(mode: str, secret: str, counter: CodecCounter, settings: MediaSettings) -> web.Application:
    app = web.Application()
    if mode != "relay":
        node = MediaNode(settings, secret)

        async def rtc(request: web.Request) -> web.StreamResponse:
            return await handle_rtc(node, request)

        def pcs() -> list[RTCPeerConnection]:
            return [p.pc for r in node.rooms.values() for p in r.participants.values() if p.pc is not None]

        async def lifetime(app: web.Application) -> Any:
            await node.start()
            yield
            await node.close()

        app.cleanup_ctx.append(lifetime)
    else:
        relay = RelayServer(settings.ice_hosts)
        rtc = relay.handle
        pcs = relay.all_pcs

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**(await transport_packets(pcs())), **counter.as_dict()})

    app.router.add_get("/rtc", rtc)
    app.router.add_get("/bench/stats", stats)
    return app


async def serve(args: argparse.Namespace) -> None:
    settings = media_settings(args.ice_host)
    with count_codec_use() as counter:
        runner = web.AppRunner(build_app(args.mode, args.secret, counter, settings))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        running = {
            "forwarding": forwarding_of(settings) if args.mode != "relay" else "relay",
            "loop": loop_kind(asyncio.get_running_loop()),
            "node": settings.node_id,  # what the load's join tokens must name
        }
        print(f"READY {port} {json.dumps(running)}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--ice-host", default="127.0.0.1")
    parser.add_argument("--event-loop", default="asyncio", choices=["asyncio", "uvloop"])
    args = parser.parse_args()
    if os.environ.get("BENCH_SFU_LOG"):
        # For a look at a misbehaving point: the node's INFO log (joins, media restarts) to a file.
        logging.basicConfig(
            level=logging.INFO,
            filename=os.environ["BENCH_SFU_LOG"],
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    loop = new_event_loop(args.event_loop)
    try:
        loop.run_until_complete(serve(args))
    except KeyboardInterrupt:
        sys.exit(0)
    finally:
        loop.close()


if __name__ == "__main__":
    main()
