"""A media node dies mid-session: the clients cannot resume, ask for a fresh token and URL, and meet again elsewhere."""

from __future__ import annotations

import asyncio
import time

import pytest

from media_server.testing.client import SfuClient
from media_server.testing.nodes import token

from .conftest import SECRET
from .test_drain import camera_of, frames_flowing, media_gap

pytestmark = pytest.mark.media

# The registry declares a silent node dead after this long (scaled down from its 5 s).
DEATH_TIMEOUT = 1.0


async def test_clients_of_a_dead_node_rejoin_the_room_on_another_node(cluster, clips) -> None:
    declared_dead = asyncio.Event()
    fresh_tokens: list[str] = []

    def web_node(user: str, role: str):
        # The join-token API: once the node is declared dead, the room is allocated elsewhere.
        async def grant() -> tuple[str, str]:
            await declared_dead.wait()
            fresh_tokens.append(user)
            return cluster.b.url, token(SECRET, cluster.b, user, role=role)

        return grant

    mentor = SfuClient(
        cluster.a.url, token(SECRET, cluster.a, "mentor", role="mentor"), recover=web_node("mentor", "mentor")
    )
    learner = SfuClient(cluster.a.url, token(SECRET, cluster.a, "learner"), recover=web_node("learner", "learner"))
    cluster.clients += [mentor, learner]
    await mentor.connect({"camera": clips.camera()})
    await learner.connect({"camera": clips.camera()})
    await learner.wait_until(lambda: any(r.count > 20 for r in learner.received.values()))
    old_mentor_id = mentor.participant_id

    died = time.time()
    await cluster.a.kill()
    asyncio.get_running_loop().call_later(DEATH_TIMEOUT, declared_dead.set)

    await mentor.wait_until(lambda: mentor.moves and mentor.moves[-1].completed, within=15)
    await learner.wait_until(lambda: learner.moves and learner.moves[-1].completed, within=15)
    assert sorted(fresh_tokens) == ["learner", "mentor"]
    assert mentor.url == learner.url == cluster.b.url
    room = cluster.b.node.rooms["room1"]
    assert set(room.participants) == {mentor.participant_id, learner.participant_id}
    # A new participant on the new node: the page re-keys its tiles; frames flow again.
    await learner.wait_until(lambda: any(r.participant_id == mentor.participant_id for r in learner.received.values()))
    from_mentor = camera_of(learner, mentor.participant_id)
    await frames_flowing(learner, from_mentor)
    old = camera_of(learner, old_mentor_id)
    gap = (from_mentor.first_at or 0) - max(t for t in old.arrivals if t <= died + 1)
    print(
        f"\nnode death media gap (death timeout {DEATH_TIMEOUT} s): {gap * 1000:.0f} ms;"
        f" within the old stream {media_gap(old, died) * 1000:.0f} ms"
    )
