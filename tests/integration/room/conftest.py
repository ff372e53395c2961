"""Fixtures for the live room: the real app, a mentor, two learners (one booked), an admin, a live session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from models.clock import ManualClock
from tests.conftest import make_config
from tests.integration.sessions.helpers import BusTap, create_session, me
from tests.support.api import ApiClient, sign_up
from web.accounts.service import create_account
from web.config import Config
from web.keys import CLOCK, DB, PASSWORDS
from web.realtime.keys import BUS

# The clock fixture starts at 09:00Z; sessions start at 10:00Z for 60 minutes.
START = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
LEAVE_GRACE = 0.3


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, sessions={"presence_leave_grace_seconds": LEAVE_GRACE, "chat_flush_seconds": 0.2})


@dataclass
class Room:
    mentor: ApiClient
    learner: ApiClient
    unbooked: ApiClient
    admin: ApiClient
    anonymous: ApiClient
    session_id: int
    room_code: str
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def channel(self) -> str:
        return f"sessions:{self.room_code}"


async def _admin(api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]) -> ApiClient:
    app = api.app
    await create_account(app[DB], app[CLOCK], app[PASSWORDS], "admin",
                         {"email": "root@example.com", "name": "Root Admin", "password": "admin12345"})
    admin = await new_api()
    await admin.json("POST", "/api/auth/login", 200, json={"email": "root@example.com", "password": "admin12345"})
    return admin


@pytest.fixture
async def room(api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]], clock: ManualClock) -> Room:
    """A scheduled session (10:00 to 11:00Z) booked by `learner`; `live_room` makes it live."""
    await sign_up(api, "mentor", "maya@example.com")
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    unbooked = await new_api()
    await sign_up(unbooked, "learner", "leo@example.com", name="Leo Learner")
    admin = await _admin(api, new_api)
    session = await create_session(api)
    await learner.json("POST", f"/api/sessions/{session['id']}/bookings", 201)
    ids = {"mentor": (await me(api))["id"], "learner": (await me(learner))["id"], "admin": (await me(admin))["id"]}
    return Room(api, learner, unbooked, admin, await new_api(), session["id"], session["room_code"], ids)


@pytest.fixture
async def live_room(room: Room, clock: ManualClock) -> Room:
    clock.set(START)
    await room.mentor.json("POST", f"/api/sessions/{room.session_id}/go-live", 200)
    return room


@pytest.fixture
async def bus_tap(api: ApiClient) -> AsyncIterator[BusTap]:
    tap = BusTap(api.app[BUS], api.app[DB])
    yield tap
    await tap.close()


class Tab:
    """The room page's /ws socket: subscribed to the room's channel, with presence."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._reader = asyncio.create_task(self._read())
        self.subscribed = asyncio.get_running_loop().create_future()

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if data["type"] == "subscribed" and not self.subscribed.done():
                self.subscribed.set_result(data)
            elif data["type"] == "error" and not self.subscribed.done():
                self.subscribed.set_exception(AssertionError(data))
            elif data["type"] == "event":
                self.events.append((data["event"], data["data"]))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


@pytest.fixture
async def open_tab() -> AsyncIterator[Callable[..., Awaitable[Tab]]]:
    tabs: list[Tab] = []

    async def open_(api: ApiClient, channel: str, presence: bool = True) -> Tab:
        tab = Tab(await api.client.ws_connect("/ws"))
        tabs.append(tab)
        await tab.ws.send_json({"type": "subscribe", "channel": channel, "presence": presence})
        await asyncio.wait_for(tab.subscribed, 5)
        return tab

    yield open_
    for tab in tabs:
        await tab.close()


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


SECOND = timedelta(seconds=1)


@pytest.fixture(scope="session")
def vp8_clip() -> list[bytes]:
    from media_server.testing.synthetic import encode_vp8_clip

    return encode_vp8_clip(60)


@pytest.fixture
async def media() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Joins the room's media as a real aiortc peer (media_server.client) with a token from the API."""
    from media_server.testing.client import SfuClient

    clients: list[SfuClient] = []

    async def join(api: ApiClient, session_id: int, publish: dict[str, Any] | None = None) -> SfuClient:
        body = await api.json("POST", f"/api/sessions/{session_id}/join", 200)
        client = SfuClient(str(api.client.make_url("/rtc")), body["token"])
        clients.append(client)
        await client.connect(publish or {})
        return client

    yield join
    for client in clients:
        await client.close()
