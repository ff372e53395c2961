"""/api/sessions/{id}/lobby, /chat and /whiteboard: what the room page reads when it (re)loads.

Readable by the session's mentor, admins and learners with a confirmed booking.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select

from models.clock import iso_utc
from models.enums import BookingStatus, Role
from models.tables import Booking, ChatMessage, MentorSession, WhiteboardSnapshot
from web.errors import forbidden
from web.http.identity import Identity, require_identity
from web.keys import DB
from web.room.archive import ROOM_ARCHIVE
from web.room.presence import ROOM_PRESENCE
from web.sessions.paths import SESSION_ID, session_id_of
from web.sessions.queries import get_session_row

routes = web.RouteTableDef()


async def _room_session(request: web.Request) -> MentorSession:
    identity = await require_identity(request)
    session_id = session_id_of(request)
    async with request.app[DB].session() as s:
        row = await get_session_row(s, session_id)
        if not await _may_read(s, identity, row):
            raise forbidden("Only the mentor and learners who booked this session can see its room.")
    return row


async def _may_read(s: Any, identity: Identity, row: MentorSession) -> bool:
    if identity.role == Role.ADMIN or identity.user_id == row.mentor_id:
        return True
    booked = (await s.exec(select(Booking.id).where(  # type: ignore[call-overload]
        col(Booking.session_id) == row.id, col(Booking.learner_id) == identity.user_id,
        col(Booking.status) == BookingStatus.CONFIRMED,
    ))).first()
    return booked is not None


def _iso(value: Any) -> str | None:
    return iso_utc(value) if value is not None else None


@routes.get(f"/api/sessions/{SESSION_ID}/lobby")
async def lobby(request: web.Request) -> web.Response:
    row = await _room_session(request)
    return web.json_response({
        "waiting": request.app[ROOM_PRESENCE].waiting(row.room_code),
        "status": row.status,
        "started_at": _iso(row.went_live_at),
        "ended_at": _iso(row.ended_at),
    })


@routes.get(f"/api/sessions/{SESSION_ID}/chat")
async def chat(request: web.Request) -> web.Response:
    row = await _room_session(request)
    # Lines said in the last second may still be in the batch: write them first.
    await request.app[ROOM_ARCHIVE].flush()
    async with request.app[DB].session() as s:
        lines = (await s.exec(
            select(ChatMessage).where(col(ChatMessage.session_id) == row.id)
            .order_by(col(ChatMessage.created_at), col(ChatMessage.id))
        )).all()
    messages = [{"name": m.name, "text": m.text, "ts": iso_utc(m.created_at)} for m in lines]
    return web.json_response({"messages": messages})


@routes.get(f"/api/sessions/{SESSION_ID}/whiteboard")
async def whiteboard(request: web.Request) -> web.Response:
    row = await _room_session(request)
    async with request.app[DB].session() as s:
        snapshot = (await s.exec(
            select(WhiteboardSnapshot).where(col(WhiteboardSnapshot.session_id) == row.id)
        )).first()
    if snapshot is None:
        return web.json_response({"strokes": [], "updated_at": None})
    return web.json_response({"strokes": snapshot.strokes, "updated_at": iso_utc(snapshot.updated_at)})
