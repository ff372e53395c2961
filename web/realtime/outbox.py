"""The after-commit outbox: what a service's change tells browsers goes out once, after its commit.

A service opens one unit of work (a database session and an outbox), queues bus events and stored
notifications inside the transaction, and commits::

    async with unit_of_work(app) as work:
        ...the change, on work.s...
        note = await work.notify(user_id=learner.id, kind="booking_confirmed", title="Booking confirmed")
        work.publish(session_channel(session.id), "session_updated", data)
        await work.s.commit()
    # here: every event queued before the commit, in order, then every notification

Why after the commit: a browser that reacts by reloading must find the change already there, and
a rolled-back change must never be announced. What was queued when the session rolls back (or
closes without committing) is dropped. Publishing happens after the response
(web.realtime.publisher): a slow or stopped bus never delays the request, and never undoes a
committed change; events wait in a bounded queue, and pages that missed some are told
`recovered: false` and catch up from the API (notifications are rows, the bell reloads them).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Notification
from web.keys import CLOCK, DB
from web.realtime.bus import BusUnavailable
from web.realtime.channels import notifications_channel
from web.realtime.keys import BUS, PUBLISHER
from web.realtime.notifications import add_notification, notification_json, publish_notifications

log = logging.getLogger(__name__)


class NotificationHook(Protocol):
    async def __call__(self, s: AsyncSession, note: Notification) -> None:
        """Called with every notification stored through a unit of work, in its transaction (e.g. to queue
        the same news by email)."""
        ...


# Filled at app creation by domains that act on notifications (web.mail.service.setup_mail); realtime
# imports none of them.
NOTIFICATION_HOOKS: web.AppKey[list[NotificationHook]] = web.AppKey("notification_hooks")


@dataclass(frozen=True)
class Event:
    channel: str
    event: str
    data: dict[str, Any]


@dataclass
class Outbox:
    events: list[Event] = field(default_factory=list)
    notes: list[Notification] = field(default_factory=list)

    def take(self) -> Outbox:
        taken = Outbox(self.events, self.notes)
        self.events, self.notes = [], []
        return taken

    def extend(self, other: Outbox) -> None:
        self.events.extend(other.events)
        self.notes.extend(other.notes)


class UnitOfWork:
    """One database session (`s`) and what its commits will announce.

    Lifecycle: opened by `unit_of_work`; each commit of `s` moves what was queued to the committed
    outbox, each rollback drops it; published once when the unit of work ends.
    """

    def __init__(self, app: web.Application, s: AsyncSession) -> None:
        self.app = app
        self.s = s
        self._pending = Outbox()
        self._committed = Outbox()
        # Listening to the session itself (not to a commit() of ours) means a commit or rollback made
        # by any helper the service calls is seen too.
        event.listen(s.sync_session, "after_commit", self._after_commit)
        event.listen(s.sync_session, "after_soft_rollback", self._after_rollback)

    def publish(self, channel: str, name: str, data: dict[str, Any]) -> None:
        """Queue a bus event for after the commit (channels come from web.realtime.channels)."""
        self._pending.events.append(Event(channel, name, data))

    async def notify(
        self, *, user_id: int, kind: str, title: str, body: str = "", data: dict[str, Any] | None = None
    ) -> Notification:
        """Store a notification in this transaction and queue it for `notifications:{user_id}`."""
        note = await add_notification(
            self.s, self.app[CLOCK], user_id=user_id, kind=kind, title=title, body=body, data=data
        )
        self._pending.notes.append(note)
        for hook in self.app.get(NOTIFICATION_HOOKS, ()):
            await hook(self.s, note)
        return note

    def _after_commit(self, _session: Any) -> None:
        self._committed.extend(self._pending.take())

    def _after_rollback(self, _session: Any, _previous_transaction: Any) -> None:
        self._pending.take()

    def committed(self) -> Outbox:
        return self._committed.take()


@asynccontextmanager
async def unit_of_work(app: web.Application) -> AsyncIterator[UnitOfWork]:
    """Open a unit of work; what its commits queued is published after the session closes."""
    work: UnitOfWork | None = None
    try:
        async with app[DB].session() as s:
            work = UnitOfWork(app, s)
            yield work
    finally:
        # Also when the body raised after a commit: what was committed happened and is announced.
        if work is not None:
            ready = work.committed()
            await publish_committed(app, ready.events, ready.notes)


async def publish_committed(app: web.Application, events: Sequence[Event], notes: Iterable[Notification] = ()) -> None:
    """Hand what a committed change caused to the app's publisher; returns at once.

    The events go out after the response, in this order (web.realtime.publisher): a slow or
    stopped bus costs the request nothing. Without a publisher (a bare test app) they are
    published here, and a bus outage is logged, never raised.
    """
    publisher = app.get(PUBLISHER)
    if publisher is None:
        bus = app[BUS]
        for item in events:
            try:
                await bus.publish(item.channel, item.event, item.data)
            except BusUnavailable as exc:
                log.warning("%s on %s committed but not pushed: %s", item.event, item.channel, exc)
        await publish_notifications(bus, notes)
        return
    for item in events:
        publisher.submit(item.channel, item.event, item.data)
    for note in notes:
        publisher.submit(notifications_channel(note.user_id), note.kind, notification_json(note))
