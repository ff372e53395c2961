"""A media node on its own (`mentorlive media-node`): only the SFU, its `/rtc`, and the operator endpoints.

No pages, no API, no database: the join token says who may enter (checked with the shared secret),
node events leave through the agent's Redis stream, and `/readyz` answers whether the node is
registered and taking rooms. `/healthz` only says the loop runs, so a Redis outage never gets
the process restarted while it still carries rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from aiohttp import web

from media_server.agent import NodeAgent
from media_server.migration import handle_import
from media_server.node import MediaNode
from media_server.signaling import handle_rtc

log = logging.getLogger(__name__)
NODE: web.AppKey[MediaNode] = web.AppKey("media_node", MediaNode)
AGENT: web.AppKey[NodeAgent] = web.AppKey("node_agent", NodeAgent)


def node_app(node: MediaNode, agent: NodeAgent) -> web.Application:
    app = web.Application()
    app[NODE], app[AGENT] = node, agent

    async def rtc(request: web.Request) -> web.StreamResponse:
        # The page that connects is the web app's, on another origin: the join token is the credential.
        return await handle_rtc(request.app[NODE], request)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "node": node.settings.node_id})

    async def readyz(request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            await request.app[AGENT].ready()
            checks["registry"] = "ok"
        except Exception as exc:
            checks["registry"] = f"error: {exc}"
        ready = all(v == "ok" for v in checks.values())
        return web.json_response({"ready": ready, "node": node.settings.node_id, "checks": checks},
                                 status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        a = request.app[AGENT]
        n = node.settings.node_id.replace('"', "")
        extra = [
            "# TYPE mentorlive_node_redis_up gauge",
            f'mentorlive_node_redis_up{{node="{n}"}} {int(a.redis_ok)}',
            "# TYPE mentorlive_node_draining gauge",
            f'mentorlive_node_draining{{node="{n}"}} {int(a.draining)}',
            "# TYPE mentorlive_node_event_outbox_bytes gauge",
            f'mentorlive_node_event_outbox_bytes{{node="{n}"}} {a.outbox.bytes}',
            "# TYPE mentorlive_node_events_dropped_total counter",
            f'mentorlive_node_events_dropped_total{{node="{n}"}} {a.outbox.dropped}',
        ]
        text = "mentorlive_up 1\n" + node.metrics_text() + "\n".join(extra) + "\n"
        return web.Response(text=text, content_type="text/plain")

    async def room_handover(request: web.Request) -> web.StreamResponse:
        # A draining node hands over a live room (media_server.migration); HMAC-signed with the shared secret.
        return await handle_import(request.app[NODE], request)

    app.router.add_get("/rtc", rtc)
    app.router.add_post("/rtc/internal/rooms/{code:[A-Za-z0-9_-]{1,64}}", room_handover)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def run_node(node: MediaNode, agent: NodeAgent, host: str, port: int, *, url_template: str = "") -> None:
    """Serve until SIGINT (stop now) or until a drain (SIGTERM, or an operator's) has emptied the node.

    `url_template` may name `{host}` and `{port}` (the bound port: `--port 0` works); empty means
    `ws://{host}:{port}/rtc`.
    """
    await node.start()
    runner = web.AppRunner(node_app(node, agent), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = _bound_port(runner, port)
    agent.url = (url_template or "ws://{host}:{port}/rtc").format(host=host, port=bound)
    stop_now = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, agent.request_drain)
    loop.add_signal_handler(signal.SIGINT, stop_now.set)
    await agent.start()
    print(f"media node {node.settings.node_id} on {agent.url} (pid {os.getpid()})", flush=True)
    try:
        waiters = [asyncio.create_task(stop_now.wait()), asyncio.create_task(agent.finished.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGTERM)
            loop.remove_signal_handler(signal.SIGINT)
        await node.close()  # rooms end (their events go out), then the agent flushes and deregisters
        await agent.stop()
        await runner.cleanup()
        log.info("media node %s stopped", node.settings.node_id)


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
