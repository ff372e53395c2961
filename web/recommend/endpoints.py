"""/api/recommend/events: what a learner did with a recommended card (opened it, viewed the mentor, booked).

Impressions are logged by the server when it serves the tab; bookings, attendance and ratings are read from
their own tables at training time. This only queues the event (web/recommend/signals.py).
"""

from __future__ import annotations

from aiohttp import web

from models.enums import Role
from models.tables import RecEvent
from web.errors import bad_request
from web.http.body import json_object
from web.http.fields import choice, integer
from web.http.identity import require_identity
from web.keys import CLOCK
from web.recommend.ranking.data import BOOK, OPEN, VIEW
from web.recommend.service import SIGNALS

routes = web.RouteTableDef()
KINDS = (OPEN, VIEW, BOOK)
BIG = 2**31 - 1


@routes.post("/api/recommend/events")
async def log_event(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    data = await json_object(request)
    kind = choice(data, "kind", KINDS)
    session_id = integer(data, "session_id", low=1, high=BIG) if data.get("session_id") is not None else None
    mentor_id = integer(data, "mentor_id", low=1, high=BIG) if data.get("mentor_id") is not None else None
    if session_id is None and mentor_id is None:
        raise bad_request("Say which session or mentor.", "session_id")
    position = integer(data, "position", low=0, high=1000) if data.get("position") is not None else None
    request.app[SIGNALS].record([RecEvent(
        kind=kind, learner_id=identity.user_id, session_id=session_id, mentor_id=mentor_id,
        surface=str(data.get("surface") or "")[:40], tab=str(data.get("tab") or "")[:20], position=position,
        model_version=str(data.get("model_version") or "")[:40], at=request.app[CLOCK].now(),
    )])
    return web.json_response({"ok": True}, status=202)
