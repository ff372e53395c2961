"""/api/sessions: create, list, read, edit, cancel (docs/api-sessions-contract.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from models.db import retry_transaction
from models.enums import Role
from web.http.identity import Identity, current_identity, require_identity
from web.keys import CLOCK, CONFIG, DB
from web.sessions.form import read_form
from web.sessions.paths import SESSION_ID, session_id_of
from web.sessions.queries import browse, build_views, load_session_body, mine
from web.sessions.recommend import RECOMMENDER, Pick
from web.sessions.schemas import SessionView, session_body, session_json
from web.sessions.search import find_sessions, parse_filters
from web.sessions.service import cancel_session, create_session, edit_session
from web.sessions.timing import time_settings

routes = web.RouteTableDef()
SEARCHABLE_TABS = ("scheduled", "live")


def _max_upload(request: web.Request) -> int:
    return request.app[CONFIG].int("sessions", "thumbnail_max_bytes")


@routes.post("/api/sessions")
async def create(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    form = await read_form(request, _max_upload(request))
    view = await create_session(request.app, identity, form)
    body = {"session": session_body(request.app, view, identity), "redirect": "/dashboard/mentor?tab=upcoming"}
    return web.json_response(body, status=201)


@routes.get("/api/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    now = request.app[CLOCK].now()
    tab = request.query.get("tab", "scheduled")
    if tab in SEARCHABLE_TABS:
        # Scheduled and Live Now take the search and filters, and come a page at a time.
        filters = parse_filters(request.query)
        async with request.app[DB].session() as s:
            found = await find_sessions(s, tab, now, filters)
            views = await build_views(s, found.sessions, identity)
        response = _sessions_body(request, views, identity, now)
        response.update(page=found.page, page_size=found.page_size, total=found.total, has_more=found.has_more)
        return web.json_response(response)
    async with request.app[DB].session() as s:
        views = await browse(s, tab, now, identity)
        if tab != "recommended" or identity is None:
            return _sessions_response(request, views, identity, now)
        # browse() listed the candidates; the recommend domain ranks, explains and logs them.
        surface = request.query.get("surface", "learner_dashboard")[:40]
        picks = await request.app[RECOMMENDER](s, identity, views, now, surface)
    return _recommended_response(request, picks, identity, now)


@routes.get("/api/sessions/mine")
async def list_mine(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    now = request.app[CLOCK].now()
    async with request.app[DB].session() as s:
        views = await mine(s, request.query.get("tab", "upcoming"), now, identity)
    return _sessions_response(request, views, identity, now)


def _sessions_body(request: web.Request, views: list[SessionView], identity: Identity | None,
                   now: datetime) -> dict[str, Any]:
    settings = time_settings(request.app[CONFIG])
    return {"sessions": [session_json(view, identity, now, settings) for view in views]}


def _sessions_response(request: web.Request, views: list[SessionView], identity: Identity | None,
                       now: datetime) -> web.Response:
    return web.json_response(_sessions_body(request, views, identity, now))


def _recommended_response(request: web.Request, picks: list[Pick], identity: Identity,
                          now: datetime) -> web.Response:
    # Only this tab's cards carry why they were chosen, and what the client logs opens and bookings against.
    settings = time_settings(request.app[CONFIG])
    sessions = []
    for pick in picks:
        body = session_json(pick.view, identity, now, settings)
        body["reason"] = pick.reason
        body["recommendation"] = {"position": pick.position, "model_version": pick.model_version}
        sessions.append(body)
    return web.json_response({"sessions": sessions})


@routes.get(f"/api/sessions/{SESSION_ID}")
async def read(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    return web.json_response({"session": await load_session_body(request.app, identity, session_id_of(request))})


@routes.patch(f"/api/sessions/{SESSION_ID}")
async def edit(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    form = await read_form(request, _max_upload(request))
    view = await edit_session(request.app, identity, session_id_of(request), form)
    return web.json_response({"session": session_body(request.app, view, identity)})


@routes.post(f"/api/sessions/{SESSION_ID}/cancel")
async def cancel(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    session_id = session_id_of(request)
    # Cancelling locks the session then its payments; a payment settling at that moment locks them the
    # other way round, and PostgreSQL aborts one side: run ours again rather than answer 500.
    view = await retry_transaction(lambda: cancel_session(request.app, identity, session_id))
    return web.json_response({"session": session_body(request.app, view, identity)})
