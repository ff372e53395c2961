"""The web app's embedded node takes handed-over rooms at /rtc/internal/rooms/{code}: HMAC-signed, no cookie."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient

from media_server.handover import RoomSnapshot, sign
from web import keys
from web.room.keys import MEDIA_NODE

SNAPSHOT = RoomSnapshot(
    code="k2j-77q",
    chat=[],
    chat_ids=0,
    whiteboard=[{"stroke": {"x": 1}}],
    started_at=None,
    recording_run=None,
    arrivals={},
    expires_in=5,
)


async def test_the_web_app_takes_a_signed_handover_without_csrf_and_refuses_an_unsigned_one(
    app, aiohttp_client
) -> None:
    client: TestClient = await aiohttp_client(app)
    body = SNAPSHOT.to_json()
    unsigned = await client.post("/rtc/internal/rooms/k2j-77q", data=body)
    assert unsigned.status == 403 and "handover" in (await unsigned.json())["error"]
    signed = await client.post(
        "/rtc/internal/rooms/k2j-77q", data=body, headers=sign(app[keys.SECRET], "k2j-77q", body, time.time())
    )
    assert signed.status == 200
    assert list(app[MEDIA_NODE].rooms["k2j-77q"].whiteboard) == [{"stroke": {"x": 1}}]
