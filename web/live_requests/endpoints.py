"""/api/live-requests: send (learner), list (both sides), accept and decline (mentor)."""

from __future__ import annotations

from aiohttp import web

from models.enums import LiveRequestStatus, Role
from web.errors import not_found
from web.http.body import json_object
from web.http.fields import row_id
from web.http.identity import require_identity
from web.keys import CLOCK, DB
from web.live_requests.queries import requests_of, scheduled_sessions
from web.live_requests.schemas import live_request_json
from web.live_requests.service import answer_request, create_form_prefill, send_request

routes = web.RouteTableDef()


def _request_id(request: web.Request) -> int:
    request_id = row_id(request.match_info["id"])
    if request_id is None:
        raise not_found("No such live request.")
    return request_id


@routes.post("/api/live-requests")
async def send(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    body = await send_request(request.app, identity, await json_object(request))
    return web.json_response({"live_request": body}, status=201)


@routes.get("/api/live-requests")
async def list_requests(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR, Role.LEARNER)
    now = request.app[CLOCK].now()
    async with request.app[DB].session() as s:
        rows, users = await requests_of(s, identity.user_id, as_mentor=identity.role == Role.MENTOR)
        sessions = await scheduled_sessions(s, [r.id for r in rows if r.id is not None])
    return web.json_response(
        {"live_requests": [live_request_json(r, users[r.learner_id], users[r.mentor_id], now, sessions.get(r.id or 0))
                           for r in rows]}
    )


@routes.post(r"/api/live-requests/{id:[0-9]+}/accept")
async def accept(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    body = await answer_request(request.app, identity, _request_id(request), LiveRequestStatus.ACCEPTED)
    prefill = await create_form_prefill(request.app, identity, body)
    return web.json_response({"live_request": body, "prefill": prefill,
                              "redirect": f"/dashboard/mentor?create_from_request={body['id']}"})


@routes.post(r"/api/live-requests/{id:[0-9]+}/decline")
async def decline(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    body = await answer_request(request.app, identity, _request_id(request), LiveRequestStatus.DECLINED)
    return web.json_response({"live_request": body})
