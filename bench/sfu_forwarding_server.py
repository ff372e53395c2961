"""The SFU process of the benchmark: media_server (raw or passthrough) or MediaRelay, plus a stats URL.

Run by bench.sfu_forwarding; prints "READY <port>" when it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from aiortc import RTCPeerConnection

from bench.sfu_forwarding_relay import RelayServer
from media_server import MediaNode, MediaSettings
from media_server.signaling import handle_rtc
from media_server.testing.codec_audit import CodecCounter, count_codec_use


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


def build_app(mode: str, secret: str, counter: CodecCounter) -> web.Application:
    app = web.Application()
    # "raw": RTP rewritten per subscriber as bytes; "passthrough": the frame path ([media] forwarding).
    settings = MediaSettings(
        ice_hosts=("127.0.0.1",),
        recordings_dir=Path("/tmp/mentorlive-bench"),
        quality_interval=2.0,
        forwarding="raw" if mode == "raw" else "frames",
    )
    if mode in ("raw", "passthrough"):
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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["raw", "passthrough", "relay"], required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    with count_codec_use() as counter:
        runner = web.AppRunner(build_app(args.mode, args.secret, counter))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"READY {port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
