"""/api/mentors/{id}: a mentor's public profile, for session cards and the Request Live form."""

from __future__ import annotations

from aiohttp import web

from models.enums import Role
from models.tables import MentorProfile, User
from web.errors import not_found
from web.http.fields import row_id
from web.keys import DB
from web.sessions.schemas import mentor_rating

routes = web.RouteTableDef()


@routes.get(r"/api/mentors/{id:\d+}")
async def mentor(request: web.Request) -> web.Response:
    mentor_id = row_id(request.match_info["id"])
    if mentor_id is None:
        raise not_found("No such mentor.")
    async with request.app[DB].session() as s:
        user = await s.get(User, mentor_id)
        if user is None or user.role != Role.MENTOR:
            raise not_found("No such mentor.")
        profile = await s.get(MentorProfile, user.id)
    return web.json_response({"mentor": {
        "id": user.id,
        "name": user.name,
        "headline": profile.headline if profile else "",
        "bio": profile.bio if profile else "",
        "expertise": list(profile.expertise) if profile else [],
        "rating": mentor_rating(profile),
    }})
