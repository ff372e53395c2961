"""The /rtc WebSocket: authenticates the join token, then turns messages into room actions.

Each socket gets a bounded outgoing queue drained by one writer task, so a room
broadcast never waits on a slow client; a client that lets it overflow is dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web
from aiortc.sdp import candidate_from_sdp

from media_server import protocol
from media_server.errors import MediaServerError, ProtocolError, Replaced, RoomClosed, TokenError, TokenExpired
from media_server.participant import ParticipantState
from media_server.protocol import CLOSE_POLICY, CLOSE_REPLACED, CLOSE_TOO_SLOW
from media_server.room import iso_utc
from media_server.tokens import JoinClaims

if TYPE_CHECKING:
    from media_server.node import MediaNode
    from media_server.participant import Participant
    from media_server.room import Room

log = logging.getLogger(__name__)
# Limited message kinds that share a bucket: every renegotiation costs the same.
RATE_BUCKET = {"unpublish": "publish", "join": "restart", "resume": "restart"}
RATE_LIMITED = "You're sending messages too fast"


class SocketChannel:
    """One socket's outgoing messages: bounded in count and in bytes, drained by one writer task."""

    def __init__(self, ws: web.WebSocketResponse, max_messages: int, max_bytes: int) -> None:
        self.ws = ws
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._queue: deque[str] = deque()
        self._bytes = 0
        self._closing = False
        self._close_code: int = WSCloseCode.OK
        self._ready = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._writer = asyncio.create_task(self._write())

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    @property
    def closed(self) -> bool:
        return self._closing

    def send(self, payload: dict[str, Any]) -> None:
        if self._closing:
            return
        item = json.dumps(payload)
        # One message larger than the budget still goes out alone (a join with a long chat history).
        if self._queue and (len(self._queue) >= self._max_messages or self._bytes + len(item) > self._max_bytes):
            self._queue.clear()
            self._bytes = 0
            self.close(CLOSE_TOO_SLOW)
            return
        self._queue.append(item)
        self._bytes += len(item)
        self._drained.clear()
        self._ready.set()

    def close(self, code: int = WSCloseCode.OK) -> None:
        """Flush what is queued, then close; never blocks the caller."""
        if not self._closing:
            self._closing = True
            self._close_code = code
        self._ready.set()

    async def room_for_more(self) -> bool:
        """Wait until at most half the byte budget is queued; False once the socket is closing."""
        while not self._closing and self._bytes > self._max_bytes // 2:
            await self._drained.wait()
        return not self._closing

    async def _write(self) -> None:
        try:
            while True:
                await self._ready.wait()
                while self._queue:
                    item = self._queue.popleft()
                    self._bytes -= len(item)
                    if self._bytes <= self._max_bytes // 2:
                        self._drained.set()
                    await self.ws.send_str(item)
                self._drained.set()
                self._ready.clear()
                if self._closing:
                    break
        except (ConnectionError, RuntimeError):
            self._closing = True
            self._drained.set()
        await self.ws.close(code=self._close_code)

    async def wait_closed(self) -> None:
        self.close()
        await asyncio.gather(self._writer, return_exceptions=True)


async def handle_rtc(node: MediaNode, request: web.Request) -> web.WebSocketResponse:
    limit = node.settings.max_message_bytes
    # aiohttp itself only cuts off abuse; anything between limit and 4x gets an `error`.
    ws = web.WebSocketResponse(max_msg_size=limit * 4, heartbeat=20)
    await ws.prepare(request)
    channel = SocketChannel(ws, node.settings.send_queue_messages, node.settings.send_queue_bytes)
    if "token" in request.query:
        # A token in the URL ends up in access logs and proxies: it travels in `join`/`resume` now.
        channel.send(
            {
                "type": "error",
                "code": "bad_token",
                "ref": "?",
                "message": "send the join token in the first message ('join' or 'resume'), not in the URL",
            }
        )
        await channel.wait_closed()
        return ws
    session = Session(node, channel)
    # A socket that never says who it is does not stay open.
    deadline = asyncio.get_running_loop().call_later(node.settings.join_timeout, session.first_message_late)
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            # A message, once read, is handled to the end even if aiohttp cancels this
            # handler because the client went away (ending a room must not stop halfway).
            await asyncio.shield(node.spawn(session.handle(msg.data)))
            if session.participant is not None or session.finished:
                deadline.cancel()
            if session.finished:
                break
    finally:
        deadline.cancel()
        await asyncio.shield(node.spawn(session.disconnected()))
        await channel.wait_closed()
    return ws


class Session:
    """One signaling socket's conversation: join or resume (with the token) first, then room actions."""

    def __init__(self, node: MediaNode, channel: SocketChannel) -> None:
        self.node = node
        self.claims: JoinClaims | None = None
        self.channel = channel
        self.participant: Participant | None = None
        self.room: Room | None = None
        self.finished = False

    def first_message_late(self) -> None:
        if self.participant is None and not self.finished:
            self.finished = True
            self.channel.send(
                {
                    "type": "error",
                    "code": "bad_token",
                    "ref": "?",
                    "message": "no 'join' or 'resume' with the join token arrived in time",
                }
            )
            self.channel.close(CLOSE_POLICY)

    async def handle(self, raw: str | bytes) -> None:
        kind: object = "?"
        try:
            message = protocol.parse(raw, self.node.settings.max_message_bytes)
            kind = message["type"]
            await self._dispatch(message["type"], message)
        except MediaServerError as exc:
            self.channel.send(
                {"type": "error", "code": exc.code, "message": protocol.short(str(exc)), "ref": protocol.ref(kind)}
            )
            if isinstance(exc, TokenError | RoomClosed | Replaced):
                self.finished = True
                self.channel.close(CLOSE_REPLACED if isinstance(exc, Replaced) else CLOSE_POLICY)
        except Exception:
            # A bug in one handler answers this client and leaves the room running.
            log.exception("signaling message %r failed", protocol.ref(kind))
            self.channel.send(
                {"type": "error", "code": "server_error", "message": "internal error", "ref": protocol.ref(kind)}
            )

    async def _dispatch(self, kind: str, message: dict[str, Any]) -> None:
        if self.participant is None:
            if kind not in ("join", "resume"):
                raise TokenError(f"the first message must be 'join' or 'resume' with the join token, not '{kind}'")
            self.claims = self.node.verify(protocol.token(message), allow_expired=True)
            if kind == "join":
                await self._join(message)
            else:
                await self._resume(message)
            return
        if self.participant.channel is not self.channel:
            raise Replaced("this participant continues on another socket")
        if not self.participant.rates.allow(RATE_BUCKET.get(kind, kind)):
            raise ProtocolError(RATE_LIMITED, "rate_limited")
        if kind == "ping":
            self.channel.send({"type": "pong", "ts": protocol.timestamp(message), "server_ts": time.time()})
            return
        if kind in ("join", "resume") and not message.get("restart_media"):
            raise ProtocolError(f"already joined; '{kind}' is not allowed now", "out_of_order")
        assert self.room is not None  # set with the participant
        await HANDLERS[kind](self, self.room, self.participant, message)

    async def _join(self, message: dict[str, Any]) -> None:
        claims = self.claims
        assert claims is not None  # verified by _dispatch
        if self.node.now() >= claims.expires_at:
            raise TokenExpired("join token has expired")
        sources = protocol.publish_list(message)
        if claims.is_observer and sources:
            raise ProtocolError("observers watch and send no media; join without 'publish'", "forbidden")
        if self.node.closed:
            raise RoomClosed("this media node is shutting down")
        if not self.node.used_tokens.claim(protocol.token(message), claims.expires_at, self.node.now()):
            # One token, one join: a copied token opens no second socket (a dropped one resumes).
            raise TokenError("this join token was already used; ask for a new one")
        if self.node.room_ended(claims.room):
            # A reload after the end (with a token issued before it): show the ended screen.
            self.channel.send(
                {
                    "type": "join",
                    "participant_id": None,
                    "resume_key": None,
                    "room": claims.room,
                    "role": claims.role,
                    "observer": claims.is_observer,
                    "started": False,
                    "started_at": None,
                    "ended": True,
                    "recording": False,
                    "participants": [],
                    "attendees": 0,
                    "chat": [],
                }
            )
            self.finished = True
            return
        room = self.node.room(claims.room)
        self.room = room
        self.participant = await room.join(claims, self.channel, sources)

    async def _resume(self, message: dict[str, Any]) -> None:
        claims = self.claims
        assert claims is not None  # verified by _dispatch
        participant_id = protocol.text(message, "participant_id", 64)
        key = protocol.text(message, "resume_key", 128)
        room = self.node.rooms.get(claims.room)
        participant = room.participants.get(participant_id or "") if room is not None else None
        if room is None or participant is None or participant.resume_key != key:
            raise RoomClosed("nothing to resume: the grace period is over; join again")
        if participant.user_id != claims.user_id:
            raise TokenError("resume key belongs to another user")
        self.room, self.participant = room, participant
        participant.reattach(self.channel)
        self.channel.send(
            {
                "type": "resume",
                "participant_id": participant.id,
                "started": room.started_at is not None,
                "started_at": iso_utc(room.started_at),
                "ended": room.ended,
                "participants": room.describe(),
                "attendees": room.attendees(),
                "chat": list(room.chat),
            }
        )
        room.send_whiteboard(participant)
        room.send_speaker(participant)
        await participant.resume_media(restart_media=message.get("restart_media") is True)

    async def disconnected(self) -> None:
        participant, room = self.participant, self.room
        if participant is None or room is None or participant.state is ParticipantState.LEFT:
            return
        participant.socket_lost(self.channel, room.timeout_callback(participant))


async def _answer(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    await p.on_answer(protocol.text(message, "sdp", session.node.settings.max_message_bytes) or "")


async def _offer(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    raise ProtocolError("the server makes every offer; send 'publish' to send media", "out_of_order")


async def _candidate(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    line = message.get("candidate")
    if p.pc is None:
        raise ProtocolError("no media connection yet", "out_of_order")
    if line in (None, ""):
        await p.pc.addIceCandidate(None)
        return
    if not isinstance(line, str) or len(line) > 1024:
        raise ProtocolError("'candidate' must be an SDP candidate line")
    mid = message.get("sdpMid")
    index = message.get("sdpMLineIndex")
    try:
        # aiortc's parser answers a line it cannot read with whatever it hits (ValueError,
        # IndexError, AssertionError...): every one of them is a bad candidate, not our bug.
        candidate = candidate_from_sdp(line.removeprefix("candidate:"))
        candidate.sdpMid = mid if isinstance(mid, str) else None
        candidate.sdpMLineIndex = index if isinstance(index, int) and not isinstance(index, bool) else 0
        await p.pc.addIceCandidate(candidate)
    except Exception as exc:
        raise ProtocolError(f"unreadable ICE candidate: {protocol.short(line, 60)!r}") from exc


async def _publish(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    await p.publish(protocol.source(message), protocol.text(message, "codec", 16, required=False))


async def _unpublish(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    await p.unpublish(protocol.source(message))


async def _mute(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    source, muted = protocol.source(message), protocol.flag(message, "muted")
    p.set_muted(source, muted)
    room.broadcast({"type": "mute", "participant_id": p.id, "source": source, "muted": muted})
    room.announce(p)


async def _participants(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    p.message({"type": "participants", "participants": room.describe(), "attendees": room.attendees()})


async def _chat(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    entry = room.add_chat(p, protocol.chat_text(message))
    room.broadcast({"type": "chat", **entry})


async def _whiteboard(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    entry = {"participant_id": p.id, **protocol.stroke(message)}
    if entry.get("clear") and not p.is_host:
        # Clearing wipes everyone's board and the stored history: the mentor's call, as the page offers it.
        raise ProtocolError("only the mentor can clear the whiteboard", "forbidden")
    if entry.get("clear"):
        room.whiteboard.clear()
    room.whiteboard.append(entry)
    room.broadcast({"type": "whiteboard", **entry}, exclude=p)


async def _start(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    if not p.is_host:
        raise ProtocolError("only the mentor can start the session", "forbidden")
    room.start(p)


async def _end(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    if not p.is_host:
        raise ProtocolError("only the mentor can end the session", "forbidden")
    session.finished = True
    await room.end("ended_by_host")


async def _leave(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    session.finished = True
    await room.leave(p, "left")


async def _restart(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    await p.restart_media()


HANDLERS = {
    "answer": _answer,
    "offer": _offer,
    "candidate": _candidate,
    "publish": _publish,
    "unpublish": _unpublish,
    "mute": _mute,
    "participants": _participants,
    "chat": _chat,
    "whiteboard": _whiteboard,
    "start": _start,
    "end": _end,
    "leave": _leave,
    "join": _restart,
    "resume": _restart,
}
