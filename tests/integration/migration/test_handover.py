"""The room handover endpoint: only a node holding the shared secret may hand a room over, and bad input is a 4xx."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from media_server.handover import RoomSnapshot, next_run, sign
from media_server.migration import internal_url
from media_server.testing.client import JoinRefused

from .conftest import SECRET

SNAPSHOT = RoomSnapshot(
    code="room1",
    chat=[{"id": 1, "text": "hi"}],
    chat_ids=1,
    whiteboard=[{"stroke": {"x": 1}}],
    started_at="2030-01-01T10:00:00Z",
    recording_run=None,
    arrivals={},
    expires_in=5,
)


def test_a_moved_recording_run_sorts_after_the_one_it_continues() -> None:
    runs = ["20301010T101010", next_run("20301010T101010"), next_run(next_run("20301010T101010"))]
    assert runs == sorted(runs) == ["20301010T101010", "20301010T101010-m001", "20301010T101010-m002"]


def test_the_internal_url_is_derived_from_the_signaling_url() -> None:
    assert internal_url("ws://127.0.0.1:9/rtc", "k2j") == "http://127.0.0.1:9/rtc/internal/rooms/k2j"
    assert internal_url("wss://media.example/rtc/", "k2j") == "https://media.example/rtc/internal/rooms/k2j"
    with pytest.raises(ValueError):
        internal_url("/rtc", "k2j")


async def test_a_signed_handover_opens_the_room_with_its_state_and_anything_else_is_refused(cluster) -> None:
    url = internal_url(cluster.b.url, "room1")
    body = SNAPSHOT.to_json()
    async with aiohttp.ClientSession() as http:
        unsigned = await http.post(url, data=body)
        assert unsigned.status == 403 and "error" in await unsigned.json()
        forged = await http.post(url, data=body, headers=sign("another-secret", "room1", body, time.time()))
        assert forged.status == 403
        stale = await http.post(url, data=body, headers=sign(SECRET, "room1", body, time.time() - 600))
        assert stale.status == 403
        garbage = b'{"code": "room1", "chat": 3}'
        malformed = await http.post(url, data=garbage, headers=sign(SECRET, "room1", garbage, time.time()))
        assert malformed.status == 400
        other = await http.post(
            internal_url(cluster.b.url, "room2"), data=body, headers=sign(SECRET, "room2", body, time.time())
        )
        assert other.status == 400
        assert cluster.b.node.rooms == {}
        good = await http.post(url, data=body, headers=sign(SECRET, "room1", body, time.time()))
        assert good.status == 200 and (await good.json())["node"] == "node-b"
    room = cluster.b.node.rooms["room1"]
    assert list(room.chat) == [{"id": 1, "text": "hi"}] and list(room.whiteboard) == [{"stroke": {"x": 1}}]
    assert room.started_at is not None and room.started_at.year == 2030


async def test_a_draining_node_opens_no_new_room(cluster) -> None:
    cluster.a.node.draining = True
    client = cluster.client(cluster.a, "u1")
    with pytest.raises(JoinRefused) as refused_join:
        await client.connect()
    assert refused_join.value.error["code"] == "room_closed" and "draining" in str(refused_join.value)
    assert cluster.a.node.rooms == {}
    body = SNAPSHOT.to_json()
    async with aiohttp.ClientSession() as http:
        refused = await http.post(
            internal_url(cluster.a.url, "room1"), data=body, headers=sign(SECRET, "room1", body, time.time())
        )
        assert refused.status == 409
    assert json.loads(body)["code"] == "room1"
