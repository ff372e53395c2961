"""Shared pieces of the sessions suite."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from sqlalchemy import event, func
from sqlmodel import select

from models.db import Database
from models.tables import Booking
from tests.support.api import ApiClient
from web.realtime.bus import EventBus
from web.realtime.envelope import Envelope, Position

# The clock fixture starts at 2030-01-01 09:00Z; sessions start an hour later unless a test says otherwise.
START = "2030-01-01T10:00:00Z"


@dataclass
class People:
    mentor: ApiClient
    other_mentor: ApiClient
    learner: ApiClient
    second_learner: ApiClient
    anonymous: ApiClient


def session_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": "Designing resilient APIs",
        "domain_tags": ["system design", "python"],
        "description": "Timeouts, retries and idempotency keys.",
        "start_at": START,
        "duration_minutes": 60,
        "price_paise": 0,
        "capacity": 5,
    }
    fields.update(overrides)
    return fields


async def create_session(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    body = await api.json("POST", "/api/sessions", 201, json=session_fields(**overrides))
    session: dict[str, Any] = body["session"]
    return session


async def me(api: ApiClient) -> dict[str, Any]:
    body: dict[str, Any] = await api.json("GET", "/api/me", 200)
    return body


def png_bytes(width: int = 1600, height: int = 900) -> bytes:
    image = Image.new("RGB", (width, height), (30, 120, 200))
    for x in range(0, width, 50):
        for y in range(0, height, 50):
            image.putpixel((x, y), (255, 255, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def booking_rows(db: Database, session_id: int) -> int:
    async with db.session() as s:
        return int((await s.exec(
            select(func.count()).select_from(Booking).where(Booking.session_id == session_id)
        )).one())


@dataclass
class BusTap:
    """Listens on bus channels like the hub does, and logs database commits and events in one order.

    `order` reads like ["commit", "event:new_booking", ...]: an event published before the
    commit that caused it would come first.
    """

    bus: EventBus
    db: Database
    seen: list[Envelope] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    _channels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        event.listen(self.db.engine.sync_engine, "commit", self._on_commit)

    def _on_commit(self, _conn: Any) -> None:
        self.order.append("commit")

    async def listen(self, *channels: str) -> None:
        for channel in channels:
            await self.bus.subscribe(channel, self)
            self._channels.append(channel)

    def on_event(self, envelope: Envelope) -> None:
        self.seen.append(envelope)
        self.order.append(f"event:{envelope.event}")

    def on_lost(self, channel: str, position: Position) -> None:
        raise AssertionError(f"lost events on {channel}")

    def reset(self) -> None:
        self.seen.clear()
        self.order.clear()

    def events(self, channel: str) -> list[tuple[str, dict[str, Any]]]:
        return [(x.event, x.data) for x in self.seen if x.channel == channel]

    def names(self, channel: str) -> list[str]:
        return [x.event for x in self.seen if x.channel == channel]

    def assert_published_after_commit(self) -> None:
        events = [i for i, item in enumerate(self.order) if item.startswith("event:")]
        assert events, "no event was published"
        assert "commit" in self.order[: events[0]], f"an event came before any commit: {self.order}"

    async def close(self) -> None:
        event.remove(self.db.engine.sync_engine, "commit", self._on_commit)
        for channel in self._channels:
            await self.bus.unsubscribe(channel, self)
