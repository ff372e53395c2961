"""/api/sessions/{id}/feedback: a booked learner rates an ended session; its mentor reads the ratings."""

from __future__ import annotations

from aiohttp import web

from models.enums import Role
from models.tables import MentorSession
from web.errors import forbidden, not_found
from web.feedback.queries import feedback_for_viewer
from web.feedback.schemas import own_feedback_json, read_feedback
from web.feedback.service import NOT_YOURS, submit_feedback
from web.http.body import json_object
from web.http.fields import row_id
from web.http.identity import require_identity
from web.keys import CLOCK, DB

routes = web.RouteTableDef()


def _session_id(request: web.Request) -> int:
    session_id = row_id(request.match_info["id"])
    if session_id is None:
        raise not_found("No such session.")
    return session_id


@routes.post(r"/api/sessions/{id:[0-9]+}/feedback")
async def give_feedback(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    session_id = _session_id(request)
    if identity.role != Role.LEARNER:
        raise forbidden(NOT_YOURS)
    form = read_feedback(await json_object(request))
    done = await submit_feedback(request.app[DB], request.app[CLOCK], identity, session_id, form)
    return web.json_response({"feedback": own_feedback_json(done.feedback)}, status=201 if done.created else 200)


@routes.get(r"/api/sessions/{id:[0-9]+}/feedback")
async def read_session_feedback(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    session_id = _session_id(request)
    async with request.app[DB].session() as s:
        mentor_session = await s.get(MentorSession, session_id)
        if mentor_session is None:
            raise not_found("No such session.")
        body = await feedback_for_viewer(s, mentor_session, identity, request.app[CLOCK].now())
    return web.json_response(body)
