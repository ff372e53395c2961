"""Persisted notifications: a row in the caller's transaction, an event after its commit.

Services do both through the unit of work (web.realtime.outbox): `await work.notify(...)` adds the
row and queues its event, which goes out on `notifications:{user_id}` once the commit succeeded.
`publish_notifications` never raises for a bus outage: the row is already stored, and the bell
reloads it from `GET /api/notifications` (web.realtime.endpoints).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from models.clock import Clock, as_utc
from models.tables import Notification
from web.realtime.bus import BusUnavailable, EventBus
from web.realtime.channels import notifications_channel
from web.realtime.envelope import Envelope

log = logging.getLogger(__name__)


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


async def already_notified(s: AsyncSession, user_id: int, kind: str, session_id: int) -> bool:
    """Whether `user_id` already has a `kind` notification about this session (jobs use it to run once)."""
    rows = (
        (
            await s.execute(
                select(Notification).where(col(Notification.user_id) == user_id, col(Notification.kind) == kind)
            )
        )
        .scalars()
        .all()
    )
    return any(note.data.get("session_id") == session_id for note in rows)


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
            published.append(await bus.publish(notifications_channel(note.user_id), note.kind, notification_json(note)))
        except BusUnavailable as exc:
            log.warning("notification %s stored but not pushed: %s", note.id, exc)
    return published
