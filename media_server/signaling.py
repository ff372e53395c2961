"""The /rtc WebSocket: authenticates the join token, then turns messages into room actions.

Each socket gets a bounded outgoing queue drained by one writer task, so a room
broadcast never waits on a slow client; a client that lets it overflow is dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from aiortc.sdp import candidate_from_sdp

from media_server import protocol
from media_server.errors import MediaServerError, ProtocolError, RoomClosed, TokenError, TokenExpired
from media_server.participant import ParticipantState
from media_server.room import iso_utc
from media_server.tokens import JoinClaims

if TYPE_CHECKING:
    from media_server.node import MediaNode
    from media_server.participant import Participant
    from media_server.room import Room

log = logging.getLogger(__name__)
CLOSE_POLICY = 4001


class SocketChannel:
    def __init__(self, ws: web.WebSocketResponse, size: int) -> None:
        self.ws = ws
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(size)
        self._writer = asyncio.create_task(self._write())

    def send(self, payload: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(json.dumps(payload))
        except asyncio.QueueFull:
            self.close()

    def close(self) -> None:
        # Flush what is queued, then close; never blocks the caller.
        if not self._writer.done():
            try:
                self._queue.put_nowait(None)
            except asyncio.QueueFull:
                # Too far behind to flush: drop what is queued; the writer closes the socket.
                while not self._queue.empty():
                    self._queue.get_nowait()
                self._queue.put_nowait(None)

    async def _write(self) -> None:
        try:
            while (item := await self._queue.get()) is not None:
                await self.ws.send_str(item)
        except (ConnectionError, RuntimeError):
            pass
        await self.ws.close()

    async def wait_closed(self) -> None:
        self.close()
        await asyncio.gather(self._writer, return_exceptions=True)


async def handle_rtc(node: MediaNode, request: web.Request) -> web.WebSocketResponse:
    limit = node.settings.max_message_bytes
    # aiohttp itself only cuts off abuse; anything between limit and 4x gets an `error`.
    ws = web.WebSocketResponse(max_msg_size=limit * 4, heartbeat=20)
    await ws.prepare(request)
    channel = SocketChannel(ws, node.settings.send_queue_messages)
    try:
        claims = node.verify(request.query.get("token", ""), allow_expired=True)
    except TokenError as exc:
        channel.send({"type": "error", "code": exc.code, "message": str(exc)})
        await channel.wait_closed()
        return ws
    session = Session(node, claims, channel)
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            # A message, once read, is handled to the end even if aiohttp cancels this
            # handler because the client went away (ending a room must not stop halfway).
            await asyncio.shield(node.spawn(session.handle(msg.data)))
            if session.finished:
                break
    finally:
        await asyncio.shield(node.spawn(session.disconnected()))
        await channel.wait_closed()
    return ws


class Session:
    """One signaling socket's conversation: join or resume first, then room actions."""

    def __init__(self, node: MediaNode, claims: JoinClaims, channel: SocketChannel) -> None:
        self.node = node
        self.claims = claims
        self.channel = channel
        self.participant: Participant | None = None
        self.room: Room | None = None
        self.finished = False

    async def handle(self, raw: str | bytes) -> None:
        kind = "?"
        try:
            message = protocol.parse(raw, self.node.settings.max_message_bytes)
            kind = message["type"]
            await self._dispatch(kind, message)
        except MediaServerError as exc:
            self.channel.send({"type": "error", "code": exc.code, "message": str(exc), "ref": kind})
            if isinstance(exc, TokenError | RoomClosed):
                self.finished = True
        except Exception:
            # A bug in one handler answers this client and leaves the room running.
            log.exception("signaling message %r failed", kind)
            self.channel.send({"type": "error", "code": "server_error", "message": "internal error", "ref": kind})

    async def _dispatch(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "ping":
            self.channel.send({"type": "pong", "ts": message.get("ts"), "server_ts": time.time()})
            return
        if self.participant is None:
            if kind == "join":
                await self._join(message)
            elif kind == "resume":
                await self._resume(message)
            else:
                raise ProtocolError(f"'{kind}' before 'join'", "out_of_order")
            return
        if kind in ("join", "resume") and not message.get("restart_media"):
            raise ProtocolError(f"already joined; '{kind}' is not allowed now", "out_of_order")
        assert self.room is not None  # set with the participant
        await HANDLERS[kind](self, self.room, self.participant, message)

    async def _join(self, message: dict[str, Any]) -> None:
        if self.node.now() >= self.claims.expires_at:
            raise TokenExpired("join token has expired")
        sources = protocol.publish_list(message)
        if self.node.closed:
            raise RoomClosed("this media node is shutting down")
        if self.node.room_ended(self.claims.room):
            # A reload after the end (with a token issued before it): show the ended screen.
            self.channel.send(
                {"type": "join", "participant_id": None, "resume_key": None, "room": self.claims.room,
                 "role": self.claims.role, "observer": self.claims.is_observer, "started": False,
                 "started_at": None, "ended": True, "recording": False, "participants": [], "attendees": 0,
                 "chat": [], "whiteboard": []}
            )
            self.finished = True
            return
        room = self.node.room(self.claims.room)
        self.room = room
        self.participant = await room.join(self.claims, self.channel, sources)

    async def _resume(self, message: dict[str, Any]) -> None:
        participant_id = protocol.text(message, "participant_id", 64)
        key = protocol.text(message, "resume_key", 128)
        room = self.node.rooms.get(self.claims.room)
        participant = room.participants.get(participant_id or "") if room is not None else None
        if room is None or participant is None or participant.resume_key != key:
            raise RoomClosed("nothing to resume: the grace period is over; join again")
        if participant.user_id != self.claims.user_id:
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
                "whiteboard": list(room.whiteboard),
            }
        )
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
    try:
        candidate = candidate_from_sdp(line.removeprefix("candidate:"))
    except (ValueError, IndexError) as exc:
        raise ProtocolError("unreadable ICE candidate") from exc
    mid = message.get("sdpMid")
    index = message.get("sdpMLineIndex")
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else 0
    await p.pc.addIceCandidate(candidate)


async def _publish(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    await p.publish(protocol.source(message), protocol.text(message, "codec", 16, required=False))


async def _unpublish(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    await p.unpublish(protocol.source(message))


async def _mute(session: Session, room: Room, p: Participant, message: dict[str, Any]) -> None:
    source, muted = protocol.source(message), protocol.flag(message, "muted")
    p.set_muted(source, muted)
    room.broadcast({"type": "mute", "participant_id": p.id, "source": source, "muted": muted})
    room.broadcast_participants()


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
