"""The /rtc conversation: tokens, bad messages, room messages; a bad message never breaks the room."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

pytestmark = pytest.mark.media


async def raw_socket(url: str) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    return session, await session.ws_connect(url)


async def test_bad_token_gets_an_error_and_the_socket_closes(sfu) -> None:
    from media_server import sign_join_token

    other_node = sign_join_token("sfu-test-secret", user_id="x", name="X", role="learner", room="room1",
                                 node="node-b", record=False, ttl_seconds=60, now=datetime.now(UTC))
    cases = (("garbage", "bad_token"), (sfu.token("x")[:-3] + "abc", "bad_token"), (other_node, "bad_token"))
    for token, code in cases:
        session, ws = await raw_socket(sfu.url)
        await ws.send_json({"type": "join", "token": token})
        reply = await ws.receive_json(timeout=5)
        assert reply["type"] == "error" and reply["code"] == code
        assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await session.close()


async def test_expired_token_cannot_join(sfu) -> None:
    old = sfu.token("x", now=datetime.now(UTC) - timedelta(hours=1), ttl=60)
    session, ws = await raw_socket(sfu.url)
    await ws.send_json({"type": "join", "token": old})
    reply = await ws.receive_json(timeout=5)
    assert reply["code"] == "token_expired"
    await session.close()


async def test_malformed_oversized_and_out_of_order_messages_answer_error_and_room_runs_on(sfu, clips) -> None:
    publisher = sfu.client("mentor", role="mentor")
    await publisher.connect({"camera": clips.camera()})
    viewer = sfu.client("learner")
    await viewer.connect()
    await viewer.wait_until(lambda: any(r.count for r in viewer.received.values()))
    limit = sfu.node.settings.max_message_bytes
    bad = [
        ("{oops", "bad_json"),
        ("[]", "bad_message"),
        (json.dumps({"type": "teleport"}), "unknown_type"),
        (json.dumps({"type": "chat", "text": "x" * (limit + 10)}), "too_large"),
        (json.dumps({"type": "answer", "sdp": "v=0"}), "out_of_order"),
        (json.dumps({"type": "offer", "sdp": "v=0"}), "out_of_order"),
        (json.dumps({"type": "join", "token": "x"}), "out_of_order"),
        (json.dumps({"type": "publish", "source": "tv"}), "bad_message"),
        (json.dumps({"type": "mute", "source": "camera", "muted": "yes"}), "bad_message"),
        (json.dumps({"type": "end"}), "forbidden"),
        (json.dumps({"type": "start"}), "forbidden"),
        (json.dumps({"type": "candidate", "candidate": 12}), "bad_message"),
    ]
    for raw, code in bad:
        mark = len(viewer.messages)
        await viewer.send_raw(raw)
        reply = await viewer.wait_for("error", since=mark)
        assert reply["code"] == code, raw[:40]
    before = sum(r.count for r in viewer.received.values())
    await viewer.send({"type": "ping", "ts": 1})
    assert (await viewer.wait_for("pong"))["ts"] == 1
    await viewer.wait_until(lambda: sum(r.count for r in viewer.received.values()) > before + 10)
    assert "room1" in sfu.node.rooms


async def test_chat_whiteboard_mute_and_host_controls_reach_the_room(sfu, clips) -> None:
    from media_server import ChatPosted

    posted: list = []
    sfu.node.add_listener(lambda e: posted.append(e) if isinstance(e, ChatPosted) else None)
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.send({"type": "chat", "text": "hello"})
    chat = await mentor.wait_for("chat")
    assert chat["text"] == "hello" and chat["user_id"] == "learner" and chat["name"] == "User learner"
    assert [(e.room, e.user_id, e.text) for e in posted] == [("room1", "learner", "hello")]
    await mentor.send({"type": "whiteboard", "stroke": {"points": [[0, 0], [5, 5]], "color": "#f00"}})
    stroke = await learner.wait_for("whiteboard")
    assert stroke["stroke"]["color"] == "#f00"
    await mentor.send({"type": "mute", "source": "microphone", "muted": True})
    mute = await learner.wait_for("mute")
    assert mute == {"type": "mute", "participant_id": mentor.participant_id, "source": "microphone", "muted": True}
    listing = await learner.wait_for(
        "participants",
        lambda m: any(pub["muted"] for p in m["participants"] for pub in p["publications"]),
    )
    assert listing
    late = sfu.client("late")
    joined = await late.connect()
    assert [c["text"] for c in joined["chat"]] == ["hello"], "a late joiner sees what was said"
    await late.wait_for("whiteboard.page")
    assert late.whiteboard[0]["stroke"]["color"] == "#f00", "and what was drawn"
    await mentor.send({"type": "start"})
    assert (await learner.wait_for("start"))["by"] == mentor.participant_id
    await mentor.send({"type": "end"})
    assert (await learner.wait_for("end"))["reason"] == "ended_by_host"
    await learner.wait_until(lambda: "room1" not in sfu.node.rooms, within=5)


async def test_only_the_mentor_clears_the_whiteboard_for_everyone(sfu) -> None:
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect()
    learner = sfu.client("learner")
    await learner.connect()
    await mentor.send({"type": "whiteboard", "stroke": {"p": [[0, 0], [1, 1]], "c": "#f00"}})
    await learner.wait_for("whiteboard")

    await learner.send({"type": "whiteboard", "clear": True})
    refused = await learner.wait_for("error", lambda m: m.get("ref") == "whiteboard")
    late = sfu.client("late")
    await late.connect()
    await late.wait_for("whiteboard.page")

    assert refused["code"] == "forbidden"
    assert not [m for m in mentor.messages if m["type"] == "whiteboard"], "nobody's board was wiped"
    assert [entry.get("stroke", {}).get("c") for entry in late.whiteboard] == ["#f00"]
    mark = len(learner.messages)
    await mentor.send({"type": "whiteboard", "clear": True})
    assert (await learner.wait_for("whiteboard", since=mark))["clear"] is True


async def test_a_late_joiner_gets_a_long_drawing_compacted_in_pages_and_a_flood_stays_within_bounds(sfu) -> None:
    from media_server.rates import MessageRates

    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect()
    # This test is about the board, not the rate: the mentor draws as fast as the socket allows.
    sfu.node.rooms["room1"].participants[mentor.participant_id].rates = MessageRates({})
    # The page sends one segment per animation frame: a minute of drawing is thousands of small strokes.
    segments = 3600
    for i in range(segments):
        await mentor.send({"type": "whiteboard", "stroke": {"id": "s1", "c": "#1f2937", "w": 0.004,
                                                           "p": [[i / segments, 0.5], [(i + 1) / segments, 0.5]]}})
    await mentor.send({"type": "ping", "ts": 1})
    await mentor.wait_for("pong", within=30)

    late = sfu.client("late")
    joined = await late.connect()
    assert "whiteboard" not in joined, "the board is not inside the join"
    await late.wait_for("whiteboard.page", lambda m: m["last"])
    board = late.whiteboard
    points = [point for entry in board for point in entry["stroke"]["p"]]
    assert len(board) < 100, "segments of one stroke arrive merged"
    assert points[0] == [0.0, 0.5] and points[-1] == [1.0, 0.5], "the whole drawing"
    assert len(points) == segments + len(board), "every point once (each merged entry repeats its first)"

    # Someone sending the largest strokes as fast as they can: the board a joiner receives stays bounded.
    big = {"p": [[0.5, 0.5]] * 1300}
    for _ in range(300):
        await mentor.send({"type": "whiteboard", "stroke": big})
    await mentor.send({"type": "ping", "ts": 2})
    await mentor.wait_for("pong", lambda m: m["ts"] == 2, within=30)
    later = sfu.client("later")
    await later.connect()
    last = await later.wait_for("whiteboard.page", lambda m: m["last"], within=30)
    pages = [m for m in later.messages if m["type"] == "whiteboard.page"]
    history = later.whiteboard
    assert len(json.dumps(history)) <= sfu.node.settings.whiteboard_history_bytes
    assert history[-1]["stroke"] == big, "the newest strokes are the ones kept"
    assert len(pages) == last["index"] + 1 > 1
    assert max(len(json.dumps(p)) for p in pages) < sfu.node.settings.whiteboard_page_bytes + 20_000


async def test_a_refused_join_can_be_corrected_on_the_same_socket(sfu) -> None:
    token = sfu.token("x")
    session, ws = await raw_socket(sfu.url)
    await ws.send_json({"type": "join", "token": token, "publish": [{"source": "camera", "codec": "AV1"}]})
    assert (await ws.receive_json(timeout=5))["code"] == "bad_codec"
    assert "room1" not in sfu.node.rooms
    await ws.send_json({"type": "join", "token": token})
    reply = await ws.receive_json(timeout=5)
    assert reply["type"] == "join" and [p["user_id"] for p in reply["participants"]] == ["x"]
    await ws.send_json({"type": "leave"})
    await session.close()
