"""Leaving, crashing, resuming and reconnecting; nothing leaks after many joins and leaves."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc

import pytest
from aiortc import RTCPeerConnection

from media_server import ParticipantLeft

pytestmark = pytest.mark.media


def decoder_threads() -> int:
    # aiortc starts one per receiver; the SFU's tap parks it until the receiver stops.
    return sum(1 for t in threading.enumerate() if t.name.endswith("-decoder"))


def collect_events(sfu) -> list:
    events: list = []
    sfu.node.add_listener(events.append)
    return events


async def test_leave_ends_publications_and_removes_others_subscriptions(sfu, clips) -> None:
    events = collect_events(sfu)
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: len(learner.received) == 2 and all(r.count for r in learner.received.values()))
    room = sfu.node.rooms["room1"]
    server_learner = next(p for p in room.participants.values() if p.user_id == "learner")
    await mentor.leave()
    removed = [await learner.wait_for("track_removed", lambda m, k=k: m["publication_id"] == k)
               for k in list(learner.received)]
    assert len(removed) == 2
    await learner.wait_until(lambda: not server_learner.subscriptions)
    await learner.wait_until(
        lambda: all(t.direction == "inactive" for t in server_learner.pc.getTransceivers()), within=3)
    left = [e for e in events if isinstance(e, ParticipantLeft)]
    assert [(e.user_id, e.reason) for e in left] == [("mentor", "left")]
    assert list(room.participants.values()) == [server_learner]


async def test_crashed_participant_keeps_its_place_then_times_out(sfu, clips) -> None:
    events = collect_events(sfu)
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera()})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count for r in learner.received.values()))
    await mentor.drop_socket()  # signaling lost, no leave
    await asyncio.sleep(0.5)
    room = sfu.node.rooms["room1"]
    assert any(p.user_id == "mentor" and p.state == "disconnected" for p in room.participants.values())
    await learner.wait_until(lambda: any(isinstance(e, ParticipantLeft) for e in events), within=4)
    assert [e.reason for e in events if isinstance(e, ParticipantLeft)] == ["timeout"]
    await learner.wait_for("track_removed")


async def test_resume_within_grace_keeps_media_flowing(sfu, clips) -> None:
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera()})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count for r in learner.received.values()))
    await mentor.drop_socket()
    await asyncio.sleep(0.3)
    reply = await mentor.resume()
    assert reply["participant_id"] == mentor.participant_id
    count = sum(r.count for r in learner.received.values())
    await asyncio.sleep(2.0)  # longer than the grace period
    assert sum(r.count for r in learner.received.values()) > count + 30
    room = sfu.node.rooms["room1"]
    assert [p.state for p in room.participants.values()] == ["active", "active"]


async def test_failed_media_connection_is_replaced_and_subscribers_keep_their_stream(sfu, clips) -> None:
    mentor = sfu.client("mentor", role="mentor")
    camera = clips.camera()
    await mentor.connect({"camera": camera})
    learner = sfu.client("learner")
    await learner.connect()
    await learner.wait_until(lambda: any(r.count for r in learner.received.values()))
    video = next(iter(learner.received.values()))
    offers_seen = learner.offers
    # The mentor's media path dies (its peer connection goes away) while signaling stays up.
    assert mentor.pc is not None
    await mentor.pc.close()
    restart = await mentor.wait_for("offer", lambda m: m["restart"], within=5)
    assert restart["publish"] == {"camera": restart["publish"]["camera"]}
    count = video.count
    await learner.wait_until(lambda: video.count > count + 30, within=5)
    assert learner.offers == offers_seen, "subscribers were not renegotiated: same m-line, same stream"
    assert video.frames[-1] != b""


async def test_many_joins_and_leaves_leave_nothing_behind(sfu, clips) -> None:
    mentor = sfu.client("mentor", role="mentor")
    await mentor.connect({"camera": clips.camera(), "microphone": clips.microphone()})
    room = sfu.node.rooms["room1"]
    server_mentor = next(iter(room.participants.values()))

    async def visit(i: int) -> None:
        guest = sfu.client(f"guest{i}")
        await guest.connect({"microphone": clips.microphone()})
        await guest.wait_until(lambda: any(r.count for r in guest.received.values()))
        await guest.leave()
        sfu.clients.remove(guest)

    await visit(0)  # warm up caches before measuring
    gc.collect()
    tracemalloc.start()
    threads_before = decoder_threads()
    tasks_before = len(asyncio.all_tasks())
    memory_before = tracemalloc.get_traced_memory()[0]
    for wave in range(4):
        await asyncio.gather(*(visit(100 + wave * 3 + i) for i in range(3)))
    await mentor.wait_until(lambda: len(room.participants) == 1, within=5)
    await asyncio.sleep(0.5)
    gc.collect()
    memory_after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert server_mentor.subscriptions == {}

    assert len(asyncio.all_tasks()) <= tasks_before + 2
    assert decoder_threads() == threads_before, "every parked aiortc decoder thread has exited"
    assert memory_after - memory_before < 3_000_000, f"grew by {memory_after - memory_before} bytes"
    assert not [o for o in gc.get_objects() if isinstance(o, RTCPeerConnection) and o.connectionState != "closed"
                and o not in (server_mentor.pc, mentor.pc)]
    # Removing subscriptions never recycles m-lines: they go inactive, so the SDP grows (aiortc limit).
    active = [t for t in server_mentor.pc.getTransceivers() if t.direction != "inactive"]
    assert len(active) == 2
