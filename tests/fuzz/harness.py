"""The real app on a real database, served on loopback from an event loop in a thread of its own, so Hypothesis
(which drives plain functions) can send it one request per example.

Seeded with what the ids in fuzzed paths point at: a mentor with a free session (1) and a paid one (2), a
learner booked on the free one (booking 1) who sent the mentor a live request (1), an admin, and a client of
each role. `send` answers the status and body; `snapshot` reads every table a refused request must leave
alone, so a 4xx that wrote something anyway shows up as a difference.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlmodel import SQLModel
from yarl import URL

from models.clock import ManualClock
from tests.conftest import START, make_config
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from tests.support.database import TestDatabases
from web.accounts.passwords import fast_test_hasher
from web.accounts.service import create_account
from web.app import create_app
from web.keys import CLOCK, DB, PASSWORDS
from web.middlewares import CSRF_HEADER

T = TypeVar("T")
ROLES = ("anonymous", "learner", "mentor", "admin")
# Written by design when a request is refused (failed sign-ins are counted) or by background batches of
# earlier successful requests (jobs, chat lines, recommendation events): not a refused request's writes.
UNWATCHED_TABLES = frozenset({"login_failures", "scheduled_jobs", "chat_messages", "rec_events"})


@dataclass
class Answer:
    status: int
    body: str


@dataclass
class FuzzServer:
    kind: str
    databases: TestDatabases
    tmp_path: Path
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    clients: dict[str, ApiClient] = field(default_factory=dict)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _thread: threading.Thread | None = None
    _app: Any = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"fuzz-{self.kind}", daemon=True)
        self._thread.start()
        try:
            self.run(self._start())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.run(self._stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        db = await self._stack.enter_async_context(self.databases.open(self.kind, self.tmp_path))
        app = create_app(
            make_config(self.tmp_path), clock=ManualClock(START), passwords=fast_test_hasher(), database=db
        )
        self._app = app
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self._stack.push_async_callback(server.close)
        for role in ROLES:
            client: TestClient[Any, Any] = TestClient(server)
            await client.start_server()
            self._stack.push_async_callback(client.session.close)
            self.clients[role] = ApiClient(client)
        await self._seed()

    async def _seed(self) -> None:
        mentor, learner, admin = self.clients["mentor"], self.clients["learner"], self.clients["admin"]
        await sign_up(mentor, "mentor", "maya@example.com")
        await sign_up(learner, "learner", "lena@example.com")
        app = self._app
        await create_account(
            app[DB],
            app[CLOCK],
            app[PASSWORDS],
            "admin",
            {"email": "root@example.com", "name": "Root Admin", "password": "admin12345"},
        )
        await admin.json("POST", "/api/auth/login", 200, json={"email": "root@example.com", "password": "admin12345"})
        free = await create_session(mentor)
        await create_session(mentor, title="Paid deep dive", price_paise=49_900)
        await learner.json("POST", f"/api/sessions/{free['id']}/bookings", 201)
        mentor_id = (await mentor.json("GET", "/api/me", 200))["id"]
        await learner.json("POST", "/api/live-requests", 201, json={"mentor_id": mentor_id, "topic": "Help me"})

    def send(self, role: str, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        return self.run(self._send(role, method, path, query, body))

    async def _send(self, role: str, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        api = self.clients[role]
        if role == "anonymous":
            # A fuzzed signup or login must not leave the anonymous client signed in for the next example.
            api.client.session.cookie_jar.clear()
        encoded_path = "/".join(_quote(segment) for segment in path.split("/"))
        if query:
            encoded_path += "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in query.items())
        headers: dict[str, str] = {}
        if method not in ("GET", "HEAD"):
            await api.ensure_csrf()
            headers[CSRF_HEADER] = api.csrf()
        data = None
        if body is not None:
            # ensure_ascii: a lone surrogate travels as the JSON escape \ud800, as a browser's JSON.stringify sends it.
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        # Already percent-encoded (URL(..., encoded=True)): sent byte for byte, invalid UTF-8 included.
        response = await api.client.request(method, URL(encoded_path, encoded=True), data=data, headers=headers)
        return Answer(response.status, await response.text(errors="replace"))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return self.run(self._snapshot())

    async def _snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = [t.name for t in SQLModel.metadata.sorted_tables if t.name not in UNWATCHED_TABLES]
        out: dict[str, list[tuple[Any, ...]]] = {}
        async with self._app[DB].session() as s:
            for name in tables:
                rows = (await s.execute(text(f"SELECT * FROM {name}"))).all()
                out[name] = sorted((tuple(row) for row in rows), key=repr)
        return out


def _quote(part: str) -> str:
    # surrogatepass: a lone surrogate goes out as its (invalid) UTF-8 bytes, as a hostile client can send them.
    return quote(part.encode("utf-8", "surrogatepass"), safe="")
