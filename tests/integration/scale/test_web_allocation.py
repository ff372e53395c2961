"""One web node (web-only: `[media] embedded = false`) and two media node processes.

The join places the room on a node and hands the browser that node's URL; media flows through it;
the node's events come back through Redis (chat archived, attendance recorded); `kill -9` of the node
gets the room placed on the other one at the next join; End Session ▶ ends the room on its node.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from media_server.testing.client import SfuClient
from media_server.testing.synthetic import ClipTrack, encode_vp8_clip
from models.clock import ManualClock
from models.tables import Booking, ChatMessage
from tests.conftest import make_config
from tests.integration.scale.conftest import DEAD_AFTER, HEARTBEAT, SHARED_REDIS, Cluster
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from web.accounts.service import create_account
from web.config import Config
from web.keys import CLOCK, DB, PASSWORDS

pytestmark = [pytest.mark.redis, pytest.mark.media, pytest.mark.timeout(300)]
START = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)  # the sessions' start (helpers.session_fields)


@pytest.fixture
def config(tmp_path: Path, scale_prefix: str) -> Config:
    return make_config(
        tmp_path,
        redis={"url": SHARED_REDIS},
        media={"embedded": False},
        scale={"key_prefix": scale_prefix, "heartbeat_seconds": HEARTBEAT, "dead_after_seconds": DEAD_AFTER},
        sessions={"chat_flush_seconds": 0.2},
    )


async def _until(check: Callable[[], Any], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def test_join_places_the_room_and_media_and_events_cross_processes(
    cluster: Cluster, api: ApiClient, new_api: Callable[[], Any], clock: ManualClock, tmp_path: Path
) -> None:
    found = await cluster.launch("node-a", "node-b")
    app = api.app
    # The operators' view on the admin dashboard and its JSON.
    await create_account(app[DB], app[CLOCK], app[PASSWORDS], "admin",
                         {"email": "root@example.com", "name": "Root Admin", "password": "admin12345"})
    admin: ApiClient = await new_api()
    await admin.json("POST", "/api/auth/login", 200, json={"email": "root@example.com", "password": "admin12345"})
    overview = await admin.json("GET", "/api/admin/media-nodes", 200)
    assert overview["registry"] is True and {n["id"] for n in overview["nodes"]} == {"node-a", "node-b"}
    assert all(n["state"] == "serving" and n["url"] == found[n["id"]].url for n in overview["nodes"])
    page = await (await admin.get("/dashboard/admin")).text()
    assert 'data-node="node-a"' in page and 'data-node="node-b"' in page
    await api.json("GET", "/api/admin/media-nodes", 401)
    # The web-only process serves no /rtc of its own.
    assert (await api.get("/rtc")).status == 404
    await sign_up(api, "mentor", "maya@example.com")
    learner: ApiClient = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    session = await create_session(api)
    await learner.json("POST", f"/api/sessions/{session['id']}/bookings", 201)
    clock.set(START)
    await api.json("POST", f"/api/sessions/{session['id']}/go-live", 200)

    mentor_grant = await api.json("POST", f"/api/sessions/{session['id']}/join", 200)
    learner_grant = await learner.json("POST", f"/api/sessions/{session['id']}/join", 200)
    node_id = mentor_grant["node"]
    assert node_id in found and learner_grant["node"] == node_id, "everyone of a room meets on one node"
    assert mentor_grant["rtc_url"] == found[node_id].url

    clients: list[SfuClient] = []
    try:
        camera = ClipTrack("video", encode_vp8_clip(90), fps=30, clock_rate=90000)
        mentor = SfuClient(mentor_grant["rtc_url"], mentor_grant["token"])
        learner_sfu = SfuClient(learner_grant["rtc_url"], learner_grant["token"])
        clients += [mentor, learner_sfu]
        await mentor.connect({"camera": camera})
        await learner_sfu.connect()
        await learner_sfu.wait_until(lambda: any(r.count > 10 for r in learner_sfu.received.values()), within=15)

        # Node events reach the web node through Redis: attendance and the chat archive.
        await learner_sfu.send({"type": "chat", "text": "hello from another process"})

        async def archived() -> bool:
            async with app[DB].session() as s:
                texts = (await s.exec(select(ChatMessage.text))).all()  # type: ignore[call-overload]
                attended = (await s.exec(select(Booking.attended_at).where(  # type: ignore[call-overload]
                    col(Booking.session_id) == session["id"]))).all()
            return "hello from another process" in texts and all(a is not None for a in attended)

        await _until(archived)

        # kill -9: once the node is declared dead, the next join lands on the other node.
        victim = next(n for n in cluster.nodes if n.node_id == node_id)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=10)
        killed_at = time.monotonic()
        other = "node-b" if node_id == "node-a" else "node-a"

        async def placed_elsewhere() -> bool:
            grant = await api.json("POST", f"/api/sessions/{session['id']}/join", 200)
            return bool(grant["node"] == other)

        await _until(placed_elsewhere, within=DEAD_AFTER + 10)
        assert time.monotonic() - killed_at >= DEAD_AFTER - HEARTBEAT, "declared dead only after the timeout"
        for client in clients:
            await client.close()
        clients.clear()
        mentor_grant = await api.json("POST", f"/api/sessions/{session['id']}/join", 200)
        learner_grant = await learner.json("POST", f"/api/sessions/{session['id']}/join", 200)
        assert mentor_grant["rtc_url"] == found[other].url == learner_grant["rtc_url"]
        camera = ClipTrack("video", encode_vp8_clip(90), fps=30, clock_rate=90000)
        mentor = SfuClient(mentor_grant["rtc_url"], mentor_grant["token"])
        learner_sfu = SfuClient(learner_grant["rtc_url"], learner_grant["token"])
        clients += [mentor, learner_sfu]
        await mentor.connect({"camera": camera})
        await learner_sfu.connect()
        await learner_sfu.wait_until(lambda: any(r.count > 10 for r in learner_sfu.received.values()), within=15)

        # End Session ▶ on the web node ends the room on its media node.
        await api.json("POST", f"/api/sessions/{session['id']}/end", 200)
        ended = await learner_sfu.wait_for("end", within=10)
        assert ended["type"] == "end"
    finally:
        for client in clients:
            await client.close()
