"""Chat lines and the whiteboard are stored with the session."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from models.tables import ChatMessage, WhiteboardSnapshot
from tests.integration.room.conftest import Room, eventually
from web.keys import DB
from web.room.archive import bounded_strokes

pytestmark = pytest.mark.media


async def test_chat_is_stored_and_read_back_in_order(live_room: Room, media) -> None:
    room = live_room
    mentor = await media(room.mentor, room.session_id)
    learner = await media(room.learner, room.session_id)
    await mentor.send({"type": "chat", "text": "Welcome! Questions any time."})
    await learner.wait_for("chat")
    await learner.send({"type": "chat", "text": "What about idempotency keys?"})
    await mentor.wait_for("chat", lambda m: m["name"] == "Lena Learner")
    path = f"/api/sessions/{room.session_id}/chat"

    body = await room.learner.json("GET", path, 200)

    assert [(m["name"], m["text"]) for m in body["messages"]] == [
        ("Maya Mentor", "Welcome! Questions any time."), ("Lena Learner", "What about idempotency keys?")]
    assert all(m["ts"] == "2030-01-01T10:00:00Z" for m in body["messages"])
    assert (await room.admin.json("GET", path, 200)) == body
    assert "error" in await room.unbooked.json("GET", path, 403)
    assert "error" in await room.anonymous.json("GET", path, 401)


async def test_chat_reaches_the_database_without_a_reader_asking(live_room: Room, media) -> None:
    room = live_room
    mentor = await media(room.mentor, room.session_id)
    await mentor.send({"type": "chat", "text": "Saved in the background."})
    await mentor.wait_for("chat")

    async def stored() -> list[str]:
        async with room.mentor.app[DB].session() as s:
            return [m.text for m in (await s.exec(select(ChatMessage))).all()]

    for _ in range(50):  # the batch is written every 0.2 s in these tests
        if await stored():
            break
        await asyncio.sleep(0.05)
    assert await stored() == ["Saved in the background."]


async def test_the_whiteboard_is_stored_when_the_session_ends(live_room: Room, media) -> None:
    room = live_room
    mentor = await media(room.mentor, room.session_id)
    learner = await media(room.learner, room.session_id)
    strokes = [{"points": [[0, 0], [10, 10]], "color": "#f00"}, {"points": [[5, 5], [20, 0]], "color": "#00f"}]
    await mentor.send({"type": "whiteboard", "clear": True})
    for stroke in strokes:
        await mentor.send({"type": "whiteboard", "stroke": stroke})
    await eventually(lambda: len([m for m in learner.messages if m["type"] == "whiteboard"]) == 3)

    await room.mentor.json("POST", f"/api/sessions/{room.session_id}/end", 200)

    path = f"/api/sessions/{room.session_id}/whiteboard"
    # The node hands the board over as its room closes; the write lands a moment after the reply.
    for _ in range(50):
        body = await room.learner.json("GET", path, 200)
        if body["strokes"]:
            break
        await asyncio.sleep(0.05)
    assert [entry["stroke"] for entry in body["strokes"]] == strokes
    assert body["updated_at"] == "2030-01-01T10:00:00Z"
    async with room.mentor.app[DB].session() as s:
        rows = (await s.exec(select(WhiteboardSnapshot))).all()
    assert [row.session_id for row in rows] == [room.session_id]


def test_a_stored_whiteboard_starts_at_the_last_clear_and_keeps_the_newest_strokes() -> None:
    old, new = {"stroke": {"p": "a" * 50}}, {"stroke": {"p": "b" * 50}}
    assert bounded_strokes([old, {"clear": True}, new], 10_000) == [new]
    assert bounded_strokes([old, new, new], 150) == [new, new]
    assert bounded_strokes([old, {"clear": True}], 10_000) == [{"clear": True}]
    assert bounded_strokes([], 10_000) == []


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "ring\x07bell"])
async def test_a_chat_line_that_is_not_text_is_refused_and_the_others_are_still_stored(
        live_room: Room, media, bad: str) -> None:
    room = live_room
    mentor = await media(room.mentor, room.session_id)
    learner = await media(room.learner, room.session_id)

    await learner.send({"type": "chat", "text": bad})
    error = await learner.wait_for("error", lambda m: m.get("ref") == "chat")
    await mentor.send({"type": "chat", "text": "Still here?"})
    await learner.wait_for("chat", lambda m: m["text"] == "Still here?")

    body = await room.learner.json("GET", f"/api/sessions/{room.session_id}/chat", 200)
    assert error["code"] == "bad_message"
    assert [m["text"] for m in body["messages"]] == ["Still here?"]
    assert not [m for m in mentor.messages if m["type"] == "chat" and m["text"] != "Still here?"]
