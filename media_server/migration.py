"""Moving live rooms off a draining media node, make-before-break.

The sequence (also docs/signaling.md, "Migration"):

1. `MediaNode.drain(placement, deadline)` marks the node draining (no new rooms; a join to a
   room it still hosts is accepted and told to move at once) and moves every room at the same
   time, each with `move_room`.
2. `placement.place(code, exclude=this node)` names a target. The source POSTs the room's
   snapshot (media_server.handover: chat, whiteboard, start, recording run, and each
   participant's ids and mute states) to the target's `POST /rtc/internal/rooms/{code}`, signed
   with an HMAC of the shared secret. The target opens the room with that state; a recorded
   room starts its next recording run at once (the composer joins runs by name, i.e. by time).
3. Publishers first: every participant with a live publication receives
   `{"type": "migrate", "url", "token", "deadline"}` (a join token for the target minted here
   with media_server.tokens; `deadline` in unix seconds); the others get it once the publishers
   have left this node or `stagger` seconds later, whichever comes first. Each client joins the
   target with the same sources on a second socket and peer connection; the target gives it back
   its participant and publication ids, so other clients see the same publications arrive on new
   m-lines. Every new subscription asks its publisher for a keyframe (as any subscription does).
   The client leaves this node once its new connection carries every stream its old one did
   (or, receiving nothing, once it is connected).
4. The room here ends (`migrated`) when its last participant has left. At the deadline whoever
   is still here gets `error` `room_closed` and is removed (a client then asks the web app for a
   fresh token, as after a node's death); the drain returns when no room is left.

Nothing here runs per packet: the move is control-plane work, polled at `POLL` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from aiohttp import web

from media_server.handover import MAX_BODY, HandoverError, RoomSnapshot, sign, verify
from media_server.placement import NodePlacement, Placement
from media_server.settings import MediaSettings
from media_server.tokens import sign_join_token

if TYPE_CHECKING:
    from media_server.participant import Participant
    from media_server.room import Room

log = logging.getLogger(__name__)
POLL = 0.05
MIGRATED = "migrated"
# How long participants without a publication wait for the publishers to get ahead of them.
STAGGER = 0.5
# A target room nobody came to is closed this long after the move's deadline.
UNCLAIMED_GRACE = 10.0


class MediaNode(Protocol):
    """What a move asks of the node (media_server.node.MediaNode implements it)."""

    settings: MediaSettings
    rooms: dict[str, Room]
    closed: bool
    draining: bool

    def now(self) -> datetime: ...

    def spawn(self, coro: Any) -> asyncio.Task[Any]: ...

    def room(self, code: str, *, moving_in: bool = False) -> Room: ...

    def room_ended(self, code: str) -> bool: ...

    def verify_handover(self, code: str, body: bytes, headers: Any) -> None: ...


def internal_url(signaling_url: str, code: str) -> str:
    """`ws://host:port/rtc` -> `http://host:port/rtc/internal/rooms/{code}`."""
    url = signaling_url.split("?", 1)[0].rstrip("/")
    if url.startswith("wss://"):
        url = "https://" + url[len("wss://") :]
    elif url.startswith("ws://"):
        url = "http://" + url[len("ws://") :]
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"a node's URL must be absolute: {signaling_url!r}")
    return f"{url}/internal/rooms/{code}"


async def drain(node: MediaNode, placement: Placement, deadline: float, secret: str) -> None:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        moves = [
            node.spawn(move_room(node, room, placement, deadline, secret, http)) for room in list(node.rooms.values())
        ]
        if moves:
            await asyncio.wait(moves, timeout=max(0.0, deadline - loop.time()) + 5)
    # Rooms opened meanwhile by a join that raced the drain flag end too.
    for room in list(node.rooms.values()):
        await _drop_stragglers(room)


async def move_room(
    node: MediaNode, room: Room, placement: Placement, deadline: float, secret: str, http: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    target: NodePlacement | None = None
    while target is None and loop.time() < deadline and not room.ended:
        try:
            target = await placement.place(room.code, exclude=node.settings.node_id)
            body = room.snapshot(max(1.0, deadline - loop.time())).to_json()
            async with http.post(
                internal_url(target.url, room.code), data=body, headers=sign(secret, room.code, body, time.time())
            ) as response:
                if response.status != 200:
                    raise RuntimeError(f"target {target.node_id} answered {response.status}: {await response.text()}")
        except Exception:
            log.warning("moving room %s failed; trying again", room.code, exc_info=True)
            target = None
            await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
    if target is not None and not room.ended:
        await _tell_participants(node, room, target, deadline, secret)
    await _drop_stragglers(room)


async def _tell_participants(node: MediaNode, room: Room, target: NodePlacement, deadline: float, secret: str) -> None:
    loop = asyncio.get_running_loop()
    wall_deadline = time.time() + (deadline - loop.time())
    ttl = int(deadline - loop.time()) + 60
    told: set[str] = set()

    def tell(participant: Participant) -> None:
        if participant.id in told:
            return
        told.add(participant.id)
        token = sign_join_token(
            secret,
            user_id=participant.user_id,
            name=participant.name,
            role=participant.role,
            room=room.code,
            node=target.node_id,
            record=participant.record,
            ttl_seconds=ttl,
            now=node.now(),
            url=target.url,
        )
        participant.message(
            {"type": "migrate", "url": target.url, "token": token, "deadline": wall_deadline, "node": target.node_id}
        )

    room.empty_reason = MIGRATED
    # Someone who joins while the room moves is sent after the others at once.
    room.on_joined = tell
    publishers = [p for p in room.participants.values() if any(pub.live for pub in p.publications.values())]
    for participant in publishers:
        tell(participant)
    await _poll_until(
        lambda: not any(p.id in room.participants for p in publishers), min(loop.time() + STAGGER, deadline)
    )
    for participant in list(room.participants.values()):
        tell(participant)
    await _poll_until(lambda: room.ended or not room.participants, deadline)


async def _poll_until(done: Callable[[], bool], until: float) -> None:
    loop = asyncio.get_running_loop()
    while not done():
        if loop.time() >= until:
            return
        await asyncio.sleep(POLL)


async def _drop_stragglers(room: Room) -> None:
    """The deadline passed: whoever is still here is told and removed; the room ends."""
    if room.ended:
        return
    room.empty_reason = MIGRATED
    for participant in list(room.participants.values()):
        participant.message(
            {
                "type": "error",
                "code": "room_closed",
                "ref": "migrate",
                "message": "this room moved to another media node; join again",
            }
        )
        await room.leave(participant, "migration_timeout", end_if_empty=False)
    await room.end(MIGRATED)


# -- the target's side -------------------------------------------------------------------------
def import_room(node: MediaNode, snapshot: RoomSnapshot) -> Room:
    """Open (or join) the room that moves here, carrying its state; close it if nobody comes."""
    room = node.room(snapshot.code, moving_in=True)
    room.restore(snapshot)

    def close_if_unclaimed() -> None:
        # A timer, not a sleeping task: closing the node must not wait for it.
        room.arrivals.clear()
        if not room.ended and not room.participants and not node.closed:
            node.spawn(room.end("empty"))

    asyncio.get_running_loop().call_later(snapshot.expires_in + UNCLAIMED_GRACE, close_if_unclaimed)
    return room


async def handle_import(node: MediaNode, request: web.Request) -> web.Response:
    """`POST /rtc/internal/rooms/{code}`: another node hands over a live room (HMAC-signed)."""
    code = request.match_info["code"]
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.json_response({"error": "snapshot too large"}, status=413)
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return web.json_response({"error": "snapshot too large"}, status=413)
    try:
        node.verify_handover(code, body, request.headers)
        snapshot = RoomSnapshot.from_json(code, body)
    except HandoverError as exc:
        status = 400 if "malformed" in str(exc) or "names another" in str(exc) or "not an id" in str(exc) else 403
        return web.json_response({"error": str(exc)}, status=status)
    if node.closed or node.draining:
        return web.json_response({"error": "this node is not taking rooms"}, status=409)
    if node.room_ended(code):
        return web.json_response({"error": "this room's session has ended"}, status=409)
    import_room(node, snapshot)
    return web.json_response({"room": code, "node": node.settings.node_id})


def verify_snapshot(secret: str, code: str, body: bytes, headers: object) -> None:
    verify(secret, code, body, headers, time.time())
