"""GET /api/sessions/mine/past: the Past tab, each session with its resources, feedback and attendance."""

from __future__ import annotations

from aiohttp import web

from web.http.identity import require_identity
from web.keys import CLOCK, CONFIG, DB
from web.past.queries import after_the_end
from web.sessions.queries import mine
from web.sessions.schemas import session_json
from web.sessions.timing import time_settings

routes = web.RouteTableDef()


@routes.get("/api/sessions/mine/past")
async def past_sessions(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    now = request.app[CLOCK].now()
    async with request.app[DB].session() as s:
        views = await mine(s, "past", now, identity)
        after = await after_the_end(s, views, identity, now)
    settings = time_settings(request.app[CONFIG])
    sessions = [
        {**session_json(view, identity, now, settings), "after": after[view.session.id or 0]}
        for view in views
    ]
    return web.json_response({"sessions": sessions})
