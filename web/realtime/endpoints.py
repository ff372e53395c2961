"""The realtime endpoints: `/ws` (the hub) and the bell's `GET /api/notifications`, `POST /api/notifications/read`."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.tables import Notification
from web.errors import ApiError
from web.http.body import json_object
from web.http.fields import MAX_ID
from web.http.identity import current_identity
from web.keys import CLOCK, DB
from web.realtime.keys import HUB
from web.realtime.notifications import notification_json

routes = web.RouteTableDef()
LIST_LIMIT = 50
MAX_READ_IDS = 500


@routes.get("/ws")
async def websocket(request: web.Request) -> web.StreamResponse:
    return await request.app[HUB].handle(request)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@routes.get("/api/notifications")
async def list_notifications(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    if identity is None:
        return _error(401, "sign in to see notifications")
    async with request.app[DB].session() as session:
        rows = await session.execute(
            select(Notification)
            .where(col(Notification.user_id) == identity.user_id)
            .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
            .limit(LIST_LIMIT)
        )
        unread = await _unread_count(session, identity.user_id)
    return web.json_response({"notifications": [notification_json(note) for note in rows.scalars()], "unread": unread})


@routes.post("/api/notifications/read")
async def mark_read(request: web.Request) -> web.Response:
    """Body `{"ids": [..]}` marks those; an empty body or `{"all": true}` marks every one."""
    identity = await current_identity(request)
    if identity is None:
        return _error(401, "sign in to see notifications")
    payload: Any = {}
    if request.can_read_body:
        try:
            payload = await json_object(request)
        except ApiError as exc:
            return _error(exc.status, "body must be a JSON object" if exc.status == 400 else exc.message)
    if not isinstance(payload, dict):
        return _error(400, "body must be a JSON object")
    ids = payload.get("ids")
    if ids is not None and (
        not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        return _error(400, "ids must be a list of integers")
    if ids is not None and len(ids) > MAX_READ_IDS:
        return _error(400, f"mark at most {MAX_READ_IDS} notifications at once")
    if ids is not None:
        # An id no row can have (beyond the column's range) would make PostgreSQL fail the query.
        ids = [i for i in ids if 0 < i <= MAX_ID]
    statement = (
        update(Notification)
        .where(col(Notification.user_id) == identity.user_id)
        .where(col(Notification.read_at).is_(None))
        .values(read_at=request.app[CLOCK].now())
    )
    if ids is not None:
        statement = statement.where(col(Notification.id).in_(ids))
    async with request.app[DB].session() as session:
        result = await session.execute(statement)
        await session.commit()
        unread = await _unread_count(session, identity.user_id)
    return web.json_response({"updated": getattr(result, "rowcount", 0), "unread": unread})


async def _unread_count(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.user_id) == user_id)
        .where(col(Notification.read_at).is_(None))
    )
    return int(count or 0)
