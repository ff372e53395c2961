"""Publishing what a committed change caused: bus events and the notifications stored with it.

Callers await these only after `commit()`: a browser that reacts by reloading must find the
change already there, and a rolled-back change must never be announced. A bus outage never
undoes a committed change; it is logged and the pages catch up from the API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from models.tables import Notification
from web.realtime.bus import BusUnavailable
from web.realtime.keys import BUS
from web.realtime.notifications import publish_notifications

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    channel: str
    event: str
    data: dict[str, Any]


async def publish_committed(
    app: web.Application, events: Sequence[Event], notes: Iterable[Notification] = ()
) -> None:
    bus = app[BUS]
    for item in events:
        try:
            await bus.publish(item.channel, item.event, item.data)
        except BusUnavailable as exc:
            log.warning("%s on %s committed but not pushed: %s", item.event, item.channel, exc)
    await publish_notifications(bus, notes)
