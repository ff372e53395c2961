"""Operator endpoints: /healthz (alive), /readyz (dependencies reachable), /metrics (Prometheus)."""

from __future__ import annotations

import logging

from aiohttp import web

from web.keys import DB, METRICS, READINESS_CHECKS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    # Alive means the loop answers; a Redis or database outage must not get the process killed.
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    try:
        await request.app[DB].ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    for name, check in request.app[READINESS_CHECKS].items():
        try:
            await check()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    parts = ["# MentorLive metrics", "mentorlive_up 1"]
    for provider in request.app[METRICS]:
        try:
            parts.append(provider().rstrip("\n"))
        except Exception:
            log.exception("metrics provider failed")
    return web.Response(text="\n".join(parts) + "\n", content_type="text/plain")
