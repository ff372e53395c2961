"""The room page `/session/{room_code}/`: who may open it, and the lobby it starts in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlmodel import col, select

from models.enums import BookingStatus, Role
from models.tables import Booking, MentorSession, User
from web.http.identity import current_identity
from web.keys import DB
from web.templating import forbidden_page, not_found_page, page

routes = web.RouteTableDef()


@routes.get("/session/{room_code}/")
@page("room.html")
async def room_page(request: web.Request) -> dict[str, Any]:
    identity = await current_identity(request)
    if identity is None:
        raise web.HTTPFound(f"/login?next={quote(request.path, safe='')}")
    async with request.app[DB].session() as s:
        session = (await s.exec(
            select(MentorSession).where(MentorSession.room_code == request.match_info["room_code"])
        )).first()
        if session is None:
            raise await not_found_page(request, "No session has this room. Check the link, or find the session on "
                                                "your dashboard.")
        mentor = await s.get(User, session.mentor_id)
        booked = (await s.exec(select(Booking.id).where(  # type: ignore[call-overload]
            col(Booking.session_id) == session.id, col(Booking.learner_id) == identity.user_id,
            col(Booking.status) == BookingStatus.CONFIRMED,
        ))).first()
    if identity.user_id == session.mentor_id:
        role = "mentor"
    elif booked is not None:
        role = "learner"
    elif identity.role == Role.ADMIN:
        role = "admin"
    else:
        raise await forbidden_page(request, "Only the mentor and learners who booked this session can enter its room.")
    return {"session": session, "mentor": mentor, "room_role": role}
