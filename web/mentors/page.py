"""`/mentors/{id}`: a mentor's public page, the link every session card's mentor name points to."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from models.enums import Role
from web.accounts.schemas import mentor_profile_json, mentor_rating_summary
from web.http.fields import row_id
from web.http.identity import current_identity
from web.keys import CLOCK, CONFIG, DB
from web.mentors.queries import mentor_page
from web.sessions.schemas import session_json
from web.sessions.timing import time_settings
from web.templating import render_page

routes = web.RouteTableDef()


def initials(name: str) -> str:
    parts = name.split()
    return "".join(part[0] for part in parts[:2]).upper() or "?"


def _public_origin(request: web.Request) -> str:
    configured = request.app[CONFIG].str("web", "public_url").rstrip("/")
    return configured or str(request.url.origin())


@routes.get(r"/mentors/{id:[0-9]+}")
async def mentor_public_page(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    now = request.app[CLOCK].now()
    mentor_id = row_id(request.match_info["id"])
    async with request.app[DB].session() as s:
        found = await mentor_page(s, mentor_id, identity, now) if mentor_id is not None else None
    if found is None:
        return await render_page(request, "error.html", {"status": 404, "message": "There is no such mentor."},
                                 status=404)
    settings = time_settings(request.app[CONFIG])
    sessions = [session_json(view, identity, now, settings) for view in found.upcoming]
    context: dict[str, Any] = {
        "mentor": mentor_profile_json(found.mentor, found.profile),
        "rating": mentor_rating_summary(found.profile),
        "initials": initials(found.mentor.name),
        "sessions": sessions,
        "comments": found.comments,
        "is_self": identity is not None and identity.user_id == found.mentor.id,
        "can_request": identity is None or identity.role == Role.LEARNER,
        "share_url": _public_origin(request) + request.path,
    }
    return await render_page(request, "mentor.html", context)
