"""Persisted notifications: a row in the caller's transaction, an event after its commit.

Two steps, because the event must never precede the commit::

    async with db.session() as session:
        ...the change...
        note = await add_notification(session, clock, user_id=learner.id, kind="booking_confirmed",
                                      title="Booking confirmed", body=session_title,
                                      data={"session_id": s.id})
        await session.commit()
    await publish_notifications(bus, [note])

`publish_notifications` never raises for a bus outage: the row is already stored, and the
bell reloads it from `GET /api/notifications`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.clock import Clock, as_utc
from models.tables import Notification
from web.errors import ApiError
from web.http.body import json_object
from web.http.fields import MAX_ID
from web.http.identity import current_identity
from web.keys import CLOCK, DB
from web.realtime.bus import BusUnavailable, EventBus
from web.realtime.envelope import Envelope

log = logging.getLogger(__name__)

LIST_LIMIT = 50
MAX_READ_IDS = 500


def channel_for(user_id: int) -> str:
    return f"notifications:{user_id}"


async def add_notification(
    session: AsyncSession,
    clock: Clock,
    *,
    user_id: int,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> Notification:
    """Add the row to the caller's transaction (flushed so it has an id); the caller commits."""
    note = Notification(user_id=user_id, kind=kind, title=title, body=body, data=data or {}, created_at=clock.now())
    session.add(note)
    await session.flush()
    return note


def notification_json(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "kind": note.kind,
        "title": note.title,
        "body": note.body,
        "data": note.data,
        "read": note.read_at is not None,
        "created_at": as_utc(note.created_at).isoformat(),
    }


async def publish_notifications(bus: EventBus, notes: Iterable[Notification]) -> list[Envelope]:
    """Publish committed rows on `notifications:{user_id}` with event = kind."""
    published = []
    for note in notes:
        try:
            published.append(await bus.publish(channel_for(note.user_id), note.kind, notification_json(note)))
        except BusUnavailable as exc:
            log.warning("notification %s stored but not pushed: %s", note.id, exc)
    return published


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


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


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/notifications", list_notifications)
    app.router.add_post("/api/notifications/read", mark_read)
