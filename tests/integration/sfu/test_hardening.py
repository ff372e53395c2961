"""/rtc under a hostile client: bounded echoes and queues, one socket per participant, single-use
tokens in the first message, rates, capped and reused publications, answer timeout, parser caps."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import tracemalloc

import aiohttp
import pytest

from media_server.protocol import CLOSE_REPLACED
from media_server.rates import Rate

pytestmark = pytest.mark.media


async def open_socket(url: str) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    return session, await session.ws_connect(url, max_msg_size=0)


async def next_of(ws: aiohttp.ClientWebSocketResponse, kind: str, within: float = 5.0) -> dict:
    async def find() -> dict:
        while True:
            message = await ws.receive_json()
            if message["type"] == kind:
                return message

    return await asyncio.wait_for(find(), within)


async def test_a_token_in_the_url_is_refused_and_the_first_message_must_carry_it(sfu) -> None:
    session, ws = await open_socket(f"{sfu.url}?token={sfu.token('x')}")
    reply = await ws.receive_json(timeout=5)
    assert reply["code"] == "bad_token" and "first message" in reply["message"]
    await session.close()

    session, ws = await open_socket(sfu.url)
    await ws.send_json({"type": "chat", "text": "hi"})
    reply = await ws.receive_json(timeout=5)
    assert reply["code"] == "bad_token"
    assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await session.close()


async def test_one_token_opens_one_participant_and_six_sockets_hold_one_live_socket(sfu) -> None:
    token = sfu.token("lena")
    sockets = [await open_socket(sfu.url) for _ in range(6)]
    replies = []
    for _session, ws in sockets:
        await ws.send_json({"type": "join", "token": token})
        replies.append(await ws.receive_json(timeout=5))
    assert replies[0]["type"] == "join"
    assert [r["code"] for r in replies[1:]] == ["bad_token"] * 5, "a used token joins no more"
    room = sfu.node.rooms["room1"]
    assert len(room.participants) == 1
    # The refused sockets were closed by the server.
    for _session, ws in sockets[1:]:
        assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    for session, _ws in sockets:
        await session.close()


async def test_a_second_socket_for_a_participant_replaces_the_first(sfu) -> None:
    lena = sfu.client("lena")
    await lena.connect()
    # Its first offer answered, so the replacement below is not racing the client's answer.
    await lena.wait_until(lambda: lena.pc is not None and lena.pc.connectionState == "connected")
    first = lena._ws
    assert first is not None
    second_session, second = await open_socket(sfu.url)
    await second.send_json(
        {"type": "resume", "token": lena.token, "participant_id": lena.participant_id, "resume_key": lena.resume_key}
    )
    assert (await next_of(second, "resume"))["participant_id"] == lena.participant_id
    replaced = await lena.wait_for("error", lambda m: m["code"] == "replaced")
    assert replaced["code"] == "replaced"
    await lena.wait_until(lambda: first.closed)
    assert first.close_code == CLOSE_REPLACED
    participant = sfu.node.rooms["room1"].participants[lena.participant_id]
    await second.send_json({"type": "ping", "ts": 7})
    assert (await next_of(second, "pong"))["ts"] == 7
    assert participant.channel is not None
    await second_session.close()


async def test_errors_quote_a_short_prefix_and_a_huge_type_is_not_echoed(sfu) -> None:
    lena = sfu.client("lena")
    await lena.connect()
    await lena.send_raw(json.dumps({"type": "x" * 250_000}))
    error = await lena.wait_for("error")
    assert error["code"] == "unknown_type"
    assert len(json.dumps(error)) < 400
    mark = len(lena.messages)
    await lena.send({"type": "ping", "ts": "y" * 200_000})
    pong = await lena.wait_for("pong", since=mark)
    assert pong["ts"] is None, "only a number is echoed"
    channel = sfu.node.rooms["room1"].participants[lena.participant_id].channel
    assert channel.queued_bytes < 10_000


async def test_deep_json_bad_candidates_and_bad_sdp_get_their_codes_not_server_error(sfu, clips, caplog) -> None:
    lena = sfu.client("lena")
    await lena.connect({"camera": clips.camera()})
    await lena.wait_for("offer")
    cases = [
        ("[" * 50_000 + "]" * 50_000, "bad_json"),
        ('{"type": "chat", "text": ' + "[" * 40 + "]" * 40 + "}", "bad_json"),
        (json.dumps({"type": "candidate", "candidate": "candidate:zzz", "sdpMid": "0"}), "bad_message"),
        (json.dumps({"type": "candidate", "candidate": "1 1 udp x 1.2.3.4 5 typ host"}), "bad_message"),
        (json.dumps({"type": "candidate", "candidate": "a b c d e f g h", "sdpMLineIndex": True}), "bad_message"),
    ]
    for raw, code in cases:
        mark = len(lena.messages)
        await lena.send_raw(raw)
        reply = await lena.wait_for("error", since=mark)
        assert reply["code"] == code, raw[:60]
    # A bad SDP answer while an offer waits: the server offers once more after a restart.
    participant = sfu.node.rooms["room1"].participants[lena.participant_id]
    participant.negotiator.pending = True
    for sdp in ("v=0", "garbage\r\nm=audio x", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"):
        mark = len(lena.messages)
        await lena.send({"type": "answer", "sdp": sdp})
        assert (await lena.wait_for("error", since=mark))["code"] == "bad_sdp", sdp
    assert not [r for r in caplog.records if "failed" in r.getMessage() and r.levelname == "ERROR"]
    assert not [m for m in lena.messages if m["type"] == "error" and m["code"] == "server_error"]


async def test_a_chat_flood_is_rate_limited_and_slow_readers_stay(sfu) -> None:
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect()
    flooder = sfu.client("flooder")
    await flooder.connect()
    for i in range(300):
        await flooder.send({"type": "chat", "text": f"spam {i} " + "z" * 1900})
    await flooder.send({"type": "ping", "ts": 1})
    await flooder.wait_for("pong", within=15)
    limited = [m for m in flooder.messages if m["type"] == "error" and m["code"] == "rate_limited"]
    assert limited and limited[0]["message"] == "You're sending messages too fast"
    burst = sfu.node.settings.rates["chat"].burst
    relayed = [m for m in mentor.messages if m["type"] == "chat"]
    assert burst <= len(relayed) < burst + 40
    room = sfu.node.rooms["room1"]
    assert len(room.participants) == 2, "nobody was disconnected"
    assert all(p.channel is not None for p in room.participants.values())


async def test_a_slow_reader_is_cut_off_at_its_byte_budget_not_by_the_server_growing(sfu) -> None:
    lena = sfu.client("lena")
    await lena.connect()
    participant = sfu.node.rooms["room1"].participants[lena.participant_id]
    channel = participant.channel
    budget = sfu.node.settings.send_queue_bytes
    # Pretend the client stopped reading: the writer is stuck, messages pile up in the queue.
    stuck = asyncio.Event()

    async def never(_item: str) -> None:
        await stuck.wait()

    channel.ws.send_str = never  # type: ignore[method-assign]
    channel.send({"type": "pong", "ts": 0, "server_ts": 0})
    await asyncio.sleep(0.05)
    peak = 0
    for _ in range(200):
        channel.send({"type": "chat", "text": "q" * 60_000})
        peak = max(peak, channel.queued_bytes)
    assert peak <= budget
    assert channel.closed, "a reader that far behind is disconnected"
    stuck.set()


async def test_publications_are_capped_and_publish_is_rate_limited(sfu, clips) -> None:
    lena = sfu.client("lena")
    await lena.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    await lena.wait_for("offer")
    participant = sfu.node.rooms["room1"].participants[lena.participant_id]
    # The cap counts live publications (one per source): a smaller cap shows it.
    participant.settings = dataclasses.replace(participant.settings, max_publications=2)
    mark = len(lena.messages)
    await lena.publish("screen", clips.camera())
    assert (await lena.wait_for("error", since=mark))["code"] == "too_many_publications"
    participant.settings = dataclasses.replace(participant.settings, max_publications=3)
    for _ in range(12):
        await lena.unpublish("screen")
    await lena.send({"type": "ping", "ts": 3})
    await lena.wait_for("pong", lambda m: m["ts"] == 3)
    codes = [m["code"] for m in lena.messages if m["type"] == "error"]
    assert "rate_limited" in codes


async def cycle(lena, clips, n: int) -> None:
    for _ in range(n):
        mark = len(lena.messages)
        await lena.unpublish("camera")
        await lena.publish("camera", clips.camera())
        await lena.wait_for("offer", lambda m: "camera" in m["publish"], since=mark, within=15)


def m_lines(client) -> list[int]:
    return [m["sdp"].count("\r\nm=") for m in client.messages if m["type"] == "offer"]


async def test_a_source_published_again_reuses_its_m_line_and_reaches_the_others(sfu, clips) -> None:
    viewer = sfu.client("viewer")
    await viewer.connect()
    lena = sfu.client("lena")
    await lena.connect({"camera": clips.camera()})
    await viewer.wait_until(lambda: any(r.count > 5 for r in viewer.received.values()), within=15)
    participant = sfu.node.rooms["room1"].participants[lena.participant_id]
    first_mid = participant.publications["camera"].mid
    await cycle(lena, clips, 3)
    publication = participant.publications["camera"]
    assert publication.mid == first_mid, "the same m-line carries the new camera"
    assert max(m_lines(lena)) == 1
    await viewer.wait_until(
        lambda: any(r.count > 5 for r in viewer.received.values() if r.publication_id == publication.id), within=15
    )


async def test_memory_publish_cycles_keep_offers_and_memory_bounded(sfu, clips) -> None:
    """The issue's attack: 4,000 publish/unpublish cycles took the server from 287 to 644 MiB and
    offers to 101 m-lines. The rate limit (2/s after 8) makes that take half an hour now; with the
    limit lifted, cycles reuse one m-line and memory stays flat."""
    sfu.node.settings.rates["publish"] = Rate(10_000.0, 10_000)  # measure the m-lines, not the rate
    lena = sfu.client("lena")
    await lena.connect({"camera": clips.camera()})
    await lena.wait_for("offer")
    participant = sfu.node.rooms["room1"].participants[lena.participant_id]
    await cycle(lena, clips, 3)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await cycle(lena, clips, 40)
    await asyncio.sleep(0.5)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"publisher offers: m-lines max {max(m_lines(lena))}; 40 cycles: tracemalloc growth {grown} bytes")
    assert max(m_lines(lena)) == 1, "the camera's m-line is reused"
    assert len(participant.pc.getTransceivers()) == 1
    assert grown < 8_000_000, f"40 cycles grew the process by {grown} bytes"


async def test_a_participant_that_never_answers_is_told_then_removed(sfu) -> None:
    sfu.node.settings.__dict__["answer_timeout"] = 1.0  # frozen dataclass; the test's own node
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect()
    session, ws = await open_socket(sfu.url)
    await ws.send_json({"type": "join", "token": sfu.token("mute-learner")})
    joined = await next_of(ws, "join")
    assert (await next_of(ws, "offer"))["restart"] is False
    told = await next_of(ws, "error", within=5)
    assert told["code"] == "answer_timeout"
    assert (await next_of(ws, "offer", within=5))["restart"] is True, "its connection is replaced"
    assert (await next_of(ws, "error", within=5))["code"] == "answer_timeout"
    room = sfu.node.rooms["room1"]
    await mentor.wait_until(lambda: joined["participant_id"] not in room.participants, within=5)
    assert len(room.participants) == 1 and "room1" in sfu.node.rooms, "the room carries on"
    await session.close()


async def test_memory_six_sockets_on_one_token_flooding_huge_types_stays_bounded(sfu) -> None:
    """The issue's attack: six sockets on one learner's token, each echoing a 250 KB `type` into a
    512-message queue, took 708 MiB. Now one socket joins, and every echo is a short error."""
    token = sfu.token("lena")
    huge = json.dumps({"type": "t" * 250_000})
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sockets = [await open_socket(sfu.url) for _ in range(6)]
    for _session, ws in sockets:
        await ws.send_json({"type": "join", "token": token})
    for _ in range(40):
        for _session, ws in sockets:
            if not ws.closed:
                try:
                    await ws.send_str(huge)
                except ConnectionError:
                    pass
    await asyncio.sleep(0.5)
    room = sfu.node.rooms["room1"]
    participant = next(iter(room.participants.values()))
    queued = participant.channel.queued_bytes if participant.channel is not None else 0
    current, peak = (value - before for value in tracemalloc.get_traced_memory())
    tracemalloc.stop()
    # The peak includes this test's own client writing 60 MB through the loopback in the same process.
    print(
        f"six sockets x 40 huge types: tracemalloc held +{current / 2**20:.1f} MiB, "
        f"peak +{peak / 2**20:.1f} MiB, queued {queued} bytes"
    )
    assert len(room.participants) == 1
    assert queued < 100_000
    assert current < 8 * 2**20, f"held {current} bytes more"
    assert peak < 64 * 2**20, f"peak grew by {peak} bytes (was 708 MiB)"
    for session, _ws in sockets:
        await session.close()


async def test_a_viewers_connection_stays_bounded_through_another_participants_publish_churn(sfu, clips) -> None:
    """Each new publication adds an m-line to every viewer (a stopped aiortc sender cannot be reused):
    past `max_mlines` the viewer's connection is replaced by one carrying only the live tracks."""
    sfu.node.settings.rates["publish"] = Rate(10_000.0, 10_000)
    object.__setattr__(sfu.node.settings, "max_mlines", 4)  # frozen settings; a small bound to reach quickly
    viewer = sfu.client("viewer")
    await viewer.connect()
    lena = sfu.client("lena")
    await lena.connect({"camera": clips.camera()})
    await viewer.wait_until(lambda: any(r.count > 5 for r in viewer.received.values()), within=15)
    room = sfu.node.rooms["room1"]
    watcher = room.participants[viewer.participant_id]
    await cycle(lena, clips, 8)
    camera = room.participants[lena.participant_id].publications["camera"]
    await viewer.wait_until(
        lambda: any(r.count > 5 for r in viewer.received.values() if r.publication_id == camera.id), within=20
    )
    assert watcher.pc is not None
    assert len(watcher.pc.getTransceivers()) <= 4
    # Plus the data channel's m-line, which every connection of a participant that publishes nothing opens with.
    assert max(m_lines(viewer)) <= 4 + 1, "no offer to the viewer carried more than the bound"
