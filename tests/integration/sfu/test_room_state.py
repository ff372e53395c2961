"""What the room page shows beside the media: the active speaker, who is reconnecting,
observers, and whether the session has started or ended (real aiortc peers, real app)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from media_server import ActiveSpeakerChanged, ParticipantJoined
from media_server.testing.client import SfuClient
from media_server.testing.synthetic import ToneTrack

pytestmark = pytest.mark.media


def find_entry(message: dict[str, Any], client: SfuClient) -> dict[str, Any] | None:
    return next((p for p in message["participants"] if p["participant_id"] == client.participant_id), None)


def entry(message: dict[str, Any], client: SfuClient) -> dict[str, Any]:
    found = find_entry(message, client)
    assert found is not None, f"{client.participant_id} is not in the participants list"
    return found


def state_of(client: SfuClient) -> Any:
    def check(message: dict[str, Any]) -> bool:
        found = find_entry(message, client)
        return found is not None and found["state"]

    return check


def names_speaker(client: SfuClient | None) -> Any:
    wanted = client.participant_id if client is not None else None
    return lambda message: message["participant_id"] == wanted


# -- active speaker ------------------------------------------------------------------------------

async def test_the_loud_microphone_is_the_speaker_until_the_other_one_talks(sfu) -> None:
    events: list[ActiveSpeakerChanged] = []
    sfu.node.add_listener(lambda e: events.append(e) if isinstance(e, ActiveSpeakerChanged) else None)
    maya_mic, lena_mic = ToneTrack(loud=True), ToneTrack(loud=False)
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"microphone": maya_mic})
    lena = sfu.client("lena")
    await lena.connect({"microphone": lena_mic})

    for who in (maya, lena):
        await who.wait_for("speaker", names_speaker(maya), within=10)
    assert events[-1].participant_id == maya.participant_id and events[-1].user_id == "maya"

    mark = len(maya.messages)
    maya_mic.loud, lena_mic.loud = False, True
    await maya.wait_for("speaker", names_speaker(lena), since=mark, within=10)
    # It changed once, straight from Maya to Lena: no flicker on the way.
    speakers = [m["participant_id"] for m in maya.messages[mark:] if m["type"] == "speaker"]
    assert speakers == [lena.participant_id]


async def test_a_muted_microphone_is_never_the_speaker_however_loud(sfu) -> None:
    maya_mic, lena_mic = ToneTrack(loud=False), ToneTrack(loud=True)
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"microphone": maya_mic})
    lena = sfu.client("lena")
    await lena.connect({"microphone": lena_mic})
    await maya.wait_for("speaker", names_speaker(lena), within=10)

    # Lena mutes but her track keeps sending the tone: the room stops naming her at once.
    mark = len(maya.messages)
    await lena.send({"type": "mute", "source": "microphone", "muted": True})
    await maya.wait_for("speaker", names_speaker(None), since=mark, within=3)
    await asyncio.sleep(2)
    assert [m for m in maya.messages[mark:] if m["type"] == "speaker" and m["participant_id"]] == []

    # Maya talks: she is the speaker, the muted one still is not.
    maya_mic.loud = True
    await lena.wait_for("speaker", names_speaker(maya), since=0, within=10)


async def test_a_late_joiner_learns_who_is_speaking(sfu, clips) -> None:
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"microphone": ToneTrack(loud=True)})
    lena = sfu.client("lena")
    await lena.connect({"microphone": ToneTrack(loud=False)})
    await lena.wait_for("speaker", names_speaker(maya), within=10)
    ravi = sfu.client("ravi")
    await ravi.connect()
    await ravi.wait_for("speaker", names_speaker(maya), within=3)


# -- reconnecting ---------------------------------------------------------------------------------

async def test_a_dropped_socket_shows_reconnecting_to_the_others_then_connected_after_resume(sfu, clips) -> None:
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"camera": clips.camera()})
    lena = sfu.client("lena")
    await lena.connect({"microphone": clips.microphone()})
    joined = await maya.wait_for("participants", lambda m: find_entry(m, lena) is not None)
    assert entry(joined, lena)["state"] == "connected"

    mark = len(maya.messages)
    await lena.drop_socket()
    dropped = await maya.wait_for("participants", lambda m: state_of(lena)(m) == "reconnecting", since=mark)
    assert entry(dropped, lena)["connected"] is False
    assert entry(dropped, maya)["state"] == "connected"

    mark = len(maya.messages)
    await lena.resume()
    back = await maya.wait_for("participants", lambda m: state_of(lena)(m) == "connected", since=mark)
    assert entry(back, lena)["connected"] is True
    # Lena is still in the call, not a new participant.
    assert len(sfu.node.rooms["room1"].participants) == 2


async def test_a_resume_the_server_did_not_see_coming_still_shows_the_drop(sfu, clips) -> None:
    """A network cut leaves the old socket open on the server's side: the resume on a new
    socket is the first the server hears of it, and the others still see Lena reconnecting."""
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"camera": clips.camera()})
    lena = sfu.client("lena")
    await lena.connect({"microphone": clips.microphone()})
    await lena.wait_for("offer")
    await maya.wait_for("participants", lambda m: state_of(lena)(m) == "connected")

    mark = len(maya.messages)
    old_socket = lena._ws
    await lena.resume()  # a second socket while the first is still open
    await maya.wait_for("participants", lambda m: state_of(lena)(m) == "reconnecting", since=mark)
    await maya.wait_for("participants", lambda m: state_of(lena)(m) == "connected", since=mark)
    assert old_socket is not None and old_socket.closed


async def test_a_replaced_media_connection_shows_reconnecting_until_the_new_one_is_up(sfu, clips) -> None:
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"camera": clips.camera()})
    lena = sfu.client("lena")
    await lena.connect({"camera": clips.camera()})
    await maya.wait_until(lambda: any(r.count > 10 for r in maya.received.values()))

    mark = len(maya.messages)
    await lena.send({"type": "resume", "restart_media": True})
    await maya.wait_for("participants", lambda m: state_of(lena)(m) == "reconnecting", since=mark)
    await maya.wait_for("participants", lambda m: state_of(lena)(m) == "connected", since=mark)
    before = sum(r.count for r in maya.received.values())
    await maya.wait_until(lambda: sum(r.count for r in maya.received.values()) > before + 10)


# -- observers ------------------------------------------------------------------------------------

async def test_an_admin_observes_without_publishing_or_being_counted(sfu, clips) -> None:
    joins: list[ParticipantJoined] = []
    sfu.node.add_listener(lambda e: joins.append(e) if isinstance(e, ParticipantJoined) else None)
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    lena = sfu.client("lena")
    await lena.connect({"camera": clips.camera()})

    # Asking to publish while joining is refused, and nobody joins.
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(sfu.url) as ws:
            await ws.send_json({"type": "join", "token": sfu.token("olga", role="admin"), "publish": ["camera"]})
            refused = await ws.receive_json(timeout=5)
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    assert len(sfu.node.rooms["room1"].participants) == 2

    olga = sfu.client("olga", role="admin", record=True)
    reply = await olga.connect()
    assert reply["observer"] is True and reply["recording"] is False
    assert reply["attendees"] == 2
    assert entry(reply, olga)["observer"] is True
    assert entry(reply, maya)["observer"] is False
    # Everyone's media reaches the observer.
    await olga.wait_until(
        lambda: sum(1 for r in olga.received.values() if r.count > 5) == 3, within=15
    )

    mark = len(olga.messages)
    await olga.publish("microphone", clips.microphone())
    assert (await olga.wait_for("error", since=mark))["code"] == "forbidden"
    mark = len(olga.messages)
    await olga.send({"type": "start"})
    assert (await olga.wait_for("error", since=mark))["code"] == "forbidden"

    seen = await maya.wait_for("participants", lambda m: find_entry(m, olga) is not None)
    assert seen["attendees"] == 2 and len(seen["participants"]) == 3
    assert [j.role for j in joins] == ["mentor", "learner", "admin"]
    room = sfu.node.rooms["room1"]
    assert room.started_at is None and room.recorder is None


# -- join state -----------------------------------------------------------------------------------

async def test_the_join_reply_says_whether_the_session_started_or_ended(sfu) -> None:
    maya = sfu.client("maya", role="mentor")
    before = await maya.connect()
    assert before["started"] is False and before["started_at"] is None and before["ended"] is False

    await maya.send({"type": "start"})
    start = await maya.wait_for("start")
    started_at = datetime.fromisoformat(start["started_at"].replace("Z", "+00:00"))
    assert abs(started_at - datetime.now(UTC)) < timedelta(seconds=5)

    lena = sfu.client("lena")
    after = await lena.connect()
    assert after["started"] is True and after["started_at"] == start["started_at"] and after["ended"] is False
    await lena.wait_for("offer")  # answered: drop the socket after the first negotiation, not during it
    await lena.drop_socket()
    resumed = await lena.resume()
    assert resumed["started_at"] == start["started_at"] and resumed["ended"] is False

    await maya.send({"type": "end"})
    await lena.wait_for("end")
    # A reload after the end, with a token issued before it: the ended screen, not a new room.
    reload = sfu.client("lena")
    ended = await reload.connect()
    assert ended["ended"] is True and ended["participant_id"] is None
    assert "room1" not in sfu.node.rooms


async def test_a_room_that_only_emptied_opens_again_but_one_ended_by_the_web_does_not(sfu) -> None:
    maya = sfu.client("maya", role="mentor")
    await maya.connect()
    await maya.leave()
    await asyncio.sleep(0.2)
    again = sfu.client("maya", role="mentor")
    assert (await again.connect())["ended"] is False

    # End Session from the page (the web app calls end_room), also for a room nobody is in.
    await sfu.node.end_room("room2", "ended_by_host")
    late = sfu.client("lena", room="room2")
    assert (await late.connect())["ended"] is True
    assert "room2" not in sfu.node.rooms


# -- a room filling up ------------------------------------------------------------------------------

async def test_a_filling_room_tells_everyone_of_each_arrival_alone_and_their_lists_stay_right(sfu, clips) -> None:
    """A join used to send every present participant the whole list: in a room of N that is N lists
    of N, and a room of a hundred filling up overflowed the sockets' queues (4 MiB) of the first."""
    maya = sfu.client("maya", role="mentor")
    await maya.connect({"camera": clips.camera()})
    learners = []
    for i in range(12):
        learner = sfu.client(f"learner{i}")
        await learner.connect()
        learners.append(learner)
    last = learners[-1]
    await maya.wait_until(lambda: any(p["participant_id"] == last.participant_id for p in maya.participants))

    arrivals = [m for m in maya.messages if m["type"] == "participant"]
    told = [m["participant"]["participant_id"] for m in arrivals]
    assert all(told.count(learner.participant_id) >= 1 for learner in learners)
    assert max(len(json.dumps(m)) for m in arrivals) < 1024, "each arrival carries one participant"

    async def lists(client: SfuClient) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The list the client merged, and the server's (asked for). Quality is left out: its own
        `quality` messages keep changing it."""
        mark = len(client.messages)
        await client.send({"type": "participants"})
        asked = await client.wait_for("participants", lambda m: "merged" not in m, since=mark)

        def plain(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: v for k, v in p.items() if k != "quality"} for p in entries]

        return plain(client.participants), plain(asked["participants"])

    # The list each page keeps, merged from the arrivals, is the server's, in the same order.
    merged, server = await lists(maya)
    assert merged == server
    in_order = [maya.participant_id, *(x.participant_id for x in learners)]
    assert [p["participant_id"] for p in maya.participants] == in_order

    mark = len(maya.messages)
    for learner in learners[:6]:
        await learner.close()
    gone = {learner.participant_id for learner in learners[:6]}
    await maya.wait_until(lambda: not gone & {p["participant_id"] for p in maya.participants})
    merged, server = await lists(maya)
    assert merged == server
    assert (await maya.wait_for("participants", lambda m: len(m["participants"]) == 7, since=mark))["attendees"] == 7
