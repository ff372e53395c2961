"""web/rtc.setup_rtc: routes, test page, metrics provider, bus events, shutdown."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from media_server import ParticipantJoined, ParticipantLeft, QualityChanged, RoomEnded
from web import keys
from web.config import load_config
from web.room.keys import MEDIA_NODE
from web.room.sfu import bus_message, setup_rtc

pytestmark = pytest.mark.media


class FakeBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    async def publish(self, channel: str, event: str, data: dict[str, Any]) -> None:
        self.published.append((channel, event, data))


def test_node_events_map_to_session_channel_events() -> None:
    quality = bus_message(QualityChanged("r1", "p1", "7", "poor", 30.0, "12% packet loss on your upload"))
    assert quality is not None and quality[:2] == ("sessions:r1", "quality") and quality[2]["level"] == "poor"
    # The lobby's learner.join/leave come from the room page's presence, never from media joins
    # (the mentor was listed as a waiting learner), and session.end only from the session's ending
    # (a room that empties or a node that stops does not end the session).
    assert bus_message(ParticipantJoined("r1", "p1", "7", "Asha", "learner")) is None
    assert bus_message(ParticipantJoined("r1", "p2", "3", "Maya", "mentor")) is None
    assert bus_message(ParticipantLeft("r1", "p1", "7", "Asha", "learner", "timeout")) is None
    assert bus_message(RoomEnded("r1", "empty", [])) is None
    assert bus_message(RoomEnded("r1", "ended_by_host", [])) is None


async def test_setup_rtc_mounts_routes_metrics_and_bus(tmp_path, clips) -> None:
    from media_server.testing.client import SfuClient
    from web.realtime.keys import BUS

    app = web.Application()
    app[keys.CONFIG] = load_config(
        environ={}, overrides={"media": {"ice_hosts": ["127.0.0.1"]}, "recordings": {"dir": str(tmp_path)}}
    )
    app[keys.SECRET] = "s3cret"
    app[keys.METRICS] = []
    bus = FakeBus()
    app[BUS] = bus  # type: ignore[assignment, misc]
    setup_rtc(app)
    node = app[MEDIA_NODE]
    assert node.settings.ice_hosts == ("127.0.0.1",) and node.settings.recordings_dir == tmp_path
    assert app[keys.METRICS] == [node.metrics_text]
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        page = await client.get("/rtc/test")
        assert page.status == 200 and "sfu-client.js" in await page.text()
        module = await client.get("/rtc/sfu-client.js")
        assert module.status == 200 and module.content_type == "text/javascript"
        assert "export class SfuClient" in await module.text()
        from datetime import UTC, datetime

        from media_server import sign_join_token

        token = sign_join_token("s3cret", user_id=9, name="Nia", role="learner", room="r9", node="local",
                                record=False, ttl_seconds=60, now=datetime.now(UTC))
        sfu_client = SfuClient(str(client.make_url("/rtc")), token)
        await sfu_client.connect({"microphone": clips.microphone()})
        await sfu_client.wait_until(lambda: "r9" in node.rooms and len(node.rooms["r9"].participants) == 1)
        assert "mentorlive_sfu_participants" in node.metrics_text()
        await sfu_client.close()
    finally:
        await client.close()
    # The app's cleanup closed the node: the room ended, and only quality reports reached the bus.
    assert node.closed and node.rooms == {}
    assert {(c, e) for c, e, _ in bus.published} <= {("sessions:r9", "quality")}
