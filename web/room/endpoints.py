"""/api/sessions/{id}/go-live, /join and /end: entering and leaving the live part of a session; the admins'
view of the media nodes (/api/admin/media-nodes)."""

from __future__ import annotations

from aiohttp import web

from models.enums import Role
from web.http.identity import require_identity
from web.room.allocation import nodes_overview
from web.room.ending import end_by_mentor
from web.room.service import authorize_join, go_live, room_url
from web.sessions.paths import SESSION_ID, session_id_of
from web.sessions.schemas import session_body

routes = web.RouteTableDef()


@routes.post(f"/api/sessions/{SESSION_ID}/go-live")
async def go_live_now(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    view = await go_live(request.app, identity, session_id_of(request))
    return web.json_response({"session": session_body(request.app, view, identity),
                              "redirect": room_url(view.session.room_code)})


# POST is the documented form (it mints a token); GET stays for the dashboards that use it.
@routes.post(f"/api/sessions/{SESSION_ID}/join")
@routes.get(f"/api/sessions/{SESSION_ID}/join")
async def join(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    return web.json_response(await authorize_join(request.app, identity, session_id_of(request)))


@routes.post(f"/api/sessions/{SESSION_ID}/end")
async def end(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    view = await end_by_mentor(request.app, identity, session_id_of(request))
    return web.json_response({"session": session_body(request.app, view, identity)})


@routes.get("/api/admin/media-nodes")
async def media_nodes(request: web.Request) -> web.Response:
    """The media nodes as the registry knows them (the admin dashboard's table, `mentorlive nodes` in JSON)."""
    await require_identity(request, Role.ADMIN)
    return web.json_response(await nodes_overview(request.app))
