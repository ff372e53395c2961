"""A Python participant speaking /rtc, for tests and load: aiortc without decode or encode.

It publishes ClipTracks through the pack() path and records each forwarded frame it
receives as bytes (through the same receiver tap the server uses), so callers can
check frames byte for byte. Not used by the server itself.

A `Leg` is one signaling socket with its peer connection. A `migrate` message (a draining
node, docs/signaling.md "Migration") opens a second leg to the target, joins with the same
sources, and retires the old leg once the new one carries every stream the old one did (or at
the deadline): received frames of a publication land in the same `Received` across legs, since
the target keeps publication ids. With `recover` set, a lost socket whose resume fails asks
`recover()` for a fresh (url, token) and joins there (a dead node: the web app re-allocates).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media_server import ice_servers, peer
from media_server.aiortc_hooks import inbound, outbound
from media_server.testing.loss import drop_incoming_rtp, drop_outgoing_rtp


@dataclass
class Received:
    publication_id: str
    participant_id: str
    source: str
    kind: str
    keep_bytes: bool = True
    frames: list[bytes] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    count: int = 0
    first_at: float | None = None
    # (sequence number, timestamp, ssrc) of every media packet, after RTX unwrapping.
    packets: list[tuple[int, int, int]] = field(default_factory=list)

    def add(self, data: bytes) -> None:
        now = time.time()
        self.count += 1
        if self.first_at is None:
            self.first_at = now
        if self.keep_bytes:
            self.frames.append(data)
            self.arrivals.append(now)


@dataclass
class Leg:
    """One signaling socket and its peer connection."""

    ws: aiohttp.ClientWebSocketResponse
    # The join token this leg's `join` (and any `resume`) carries.
    token: str = ""
    reader: asyncio.Task[None] | None = None
    pc: RTCPeerConnection | None = None
    by_mid: dict[str, Received] = field(default_factory=dict)
    tapped: set[str] = field(default_factory=set)
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)
    # Publications this leg has received a frame of.
    got: set[str] = field(default_factory=set)
    joined: asyncio.Future[dict[str, Any]] | None = None
    retired: bool = False
    # The room's list as this leg's node tells it: whole from join, resume and `participants`,
    # merged from `participant` and `participant_left` (as web/static/sfu-client.js keeps it).
    participants: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Move:
    """One migration or recovery as this client lived it (wall-clock seconds)."""

    kind: str  # "migrate" | "recover"
    started: float
    finished: float | None = None
    node: str | None = None
    completed: bool = False


RESUME_RETRIES = (0.25, 0.5)


class JoinRefused(Exception):
    """The node answered `join` with an `error` (its message is the error)."""

    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__(message.get("message", ""))
        self.error = message


class SfuClient:
    def __init__(
        self, url: str, token: str, *, ice_hosts: tuple[str, ...] = ("127.0.0.1",), keep_bytes: bool = True,
        recover: Callable[[], Awaitable[tuple[str, str]]] | None = None,
        ice_servers: tuple[ice_servers.IceServer, ...] = (),
    ) -> None:
        self.url = url
        self.token = token
        self.ice_hosts = ice_hosts
        self.ice_servers = ice_servers
        self.keep_bytes = keep_bytes
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.codecs: dict[str, str] = {}
        self.received: dict[str, Received] = {}
        self.messages: list[dict[str, Any]] = []
        self.participant_id: str | None = None
        self.resume_key: str | None = None
        self.loss = 0.0
        self.recover = recover
        self.moves: list[Move] = []
        self.closing = False
        self._leg: Leg | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.downlink_loss = 0.0
        self.offers = 0
        # Called with each received frame's bytes (e.g. a benchmark probe that decodes).
        self.frame_hook: Callable[[Received, bytes], None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._changed = asyncio.Condition()

    # The current leg's parts, as callers knew them before there were legs.
    @property
    def pc(self) -> RTCPeerConnection | None:
        return self._leg.pc if self._leg is not None else None

    @property
    def by_mid(self) -> dict[str, Received]:
        return self._leg.by_mid if self._leg is not None else {}

    @property
    def participants(self) -> list[dict[str, Any]]:
        """The room's list as the page shows it: the current leg's (a migration adopts the new one's)."""
        return self._leg.participants if self._leg is not None else []

    @property
    def _ws(self) -> aiohttp.ClientWebSocketResponse | None:
        return self._leg.ws if self._leg is not None else None

    # -- connection ----------------------------------------------------------------------
    async def connect(self, publish: dict[str, MediaStreamTrack] | None = None, codec: str = "VP8") -> dict[str, Any]:
        self.tracks.update(publish or {})
        for source in self.tracks:
            self.codecs.setdefault(source, codec if source != "microphone" else "opus")
        leg = await self._open_leg(self.url, self.token, self.tracks)
        self._leg = leg
        return await self._join(leg)

    async def _join(self, leg: Leg) -> dict[str, Any]:
        leg.joined = asyncio.get_running_loop().create_future()
        await leg.ws.send_str(json.dumps({"type": "join", "token": leg.token, "publish": [
            {"source": s, "codec": self.codecs[s]} if s != "microphone" else s for s in leg.tracks]}))
        reply = await asyncio.wait_for(asyncio.shield(leg.joined), 10)
        self.participant_id = reply["participant_id"]
        self.resume_key = reply["resume_key"]
        return reply

    async def _open_leg(self, url: str, token: str, tracks: dict[str, MediaStreamTrack]) -> Leg:
        # The join token travels in the first message (`join`/`resume`), never in the URL.
        if self._session is None:
            self._session = aiohttp.ClientSession()
        ws = await self._session.ws_connect(url, max_msg_size=0)
        leg = Leg(ws, token=token, tracks=tracks)
        leg.reader = asyncio.create_task(self._read(leg))
        return leg

    async def _open_socket(self) -> None:
        """A new socket for the current leg (resume keeps the peer connection)."""
        assert self._session is not None and self._leg is not None
        leg = self._leg
        leg.ws = await self._session.ws_connect(self.url, max_msg_size=0)
        leg.reader = asyncio.create_task(self._read(leg))

    async def drop_socket(self) -> None:
        """Simulate a network cut of the signaling socket (no leave)."""
        if self._leg is not None:
            await self._leg.ws.close()
            if self._leg.reader is not None:
                await asyncio.gather(self._leg.reader, return_exceptions=True)

    async def resume(self, restart_media: bool = False) -> dict[str, Any]:
        await self._open_socket()
        await self.send({"type": "resume", "token": self.token, "participant_id": self.participant_id,
                         "resume_key": self.resume_key, "restart_media": restart_media})
        return await self.wait_for("resume")

    async def publish(self, source: str, track: MediaStreamTrack, codec: str = "VP8") -> None:
        self.tracks[source] = track
        self.codecs[source] = codec if source != "microphone" else "opus"
        await self.send({"type": "publish", "source": source, "codec": codec})

    async def unpublish(self, source: str) -> None:
        self.tracks.pop(source, None)
        await self.send({"type": "unpublish", "source": source})

    @property
    def whiteboard(self) -> list[dict[str, Any]]:
        """The board as the last `whiteboard.page` messages (after join or resume) drew it."""
        board: list[dict[str, Any]] = []
        for message in self.messages:
            if message["type"] == "whiteboard.page":
                if message["index"] == 0:
                    board = []
                board.extend(message["entries"])
        return board

    async def send(self, payload: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_str(json.dumps(payload))

    async def send_raw(self, raw: str) -> None:
        assert self._ws is not None
        await self._ws.send_str(raw)

    async def leave(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self.send({"type": "leave"})
        await self.close()

    async def close(self) -> None:
        self.closing = True
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._leg is not None:
            await self._close_leg(self._leg)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- waiting ----------------------------------------------------------------------------
    async def wait_for(self, kind: str, predicate: Any = None, within: float = 10.0, since: int = 0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            async with self._changed:
                while True:
                    for message in self.messages[since:]:
                        if message["type"] == kind and (predicate is None or predicate(message)):
                            return message
                    await self._changed.wait()

        return await asyncio.wait_for(find(), within)

    async def wait_until(self, check: Any, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not reached")
            await asyncio.sleep(0.02)

    async def _close_leg(self, leg: Leg) -> None:
        leg.retired = True
        await leg.ws.close()
        if leg.reader is not None:
            await asyncio.gather(leg.reader, return_exceptions=True)
        if leg.pc is not None:
            await leg.pc.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    def _merge_participants(leg: Leg, message: dict[str, Any]) -> dict[str, Any] | None:
        kind = message["type"]
        if kind in ("join", "resume", "participants") and isinstance(message.get("participants"), list):
            leg.participants = message["participants"]
            return None
        if kind == "participant":
            entry = message["participant"]
            known = any(p["participant_id"] == entry["participant_id"] for p in leg.participants)
            leg.participants = (
                [entry if p["participant_id"] == entry["participant_id"] else p for p in leg.participants]
                if known
                else [*leg.participants, entry]
            )
        elif kind == "participant_left":
            leg.participants = [p for p in leg.participants if p["participant_id"] != message["participant_id"]]
        else:
            return None
        # Marked: the client's own view, not a message the server sent.
        return {"type": "participants", "participants": leg.participants, "attendees": message["attendees"],
                "merged": True}

    # -- signaling ----------------------------------------------------------------------------
    async def _read(self, leg: Leg) -> None:
        ws = leg.ws
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            if message["type"] == "offer":
                await self._on_offer(leg, message)
            elif message["type"] == "track_added":
                self._expect(leg, message)
            elif message["type"] == "track_removed":
                await self._stop_receiver(leg, message.get("mid"))
            elif message["type"] == "join" and leg.joined is not None and not leg.joined.done():
                leg.joined.set_result(message)
            elif message["type"] == "error" and leg.joined is not None and not leg.joined.done():
                leg.joined.set_exception(JoinRefused(message))
            elif message["type"] == "migrate" and leg is self._leg and not self.closing:
                self._spawn(self._migrate(message))
            async with self._changed:
                self.messages.append(message)
                merged = self._merge_participants(leg, message)
                if merged is not None and leg is self._leg:
                    # What the page's client emits on a change: the merged list, as `participants`.
                    self.messages.append(merged)
                self._changed.notify_all()
        if (self.recover is not None and leg is self._leg and ws is leg.ws and not leg.retired
                and not self.closing and self.participant_id is not None):
            self._spawn(self._recover(leg))

    async def _stop_receiver(self, leg: Leg, mid: str | None) -> None:
        # aiortc keeps an inactive m-line's receiver (and its RTCP task) alive; a
        # browser stops it, so this client does too.
        for transceiver in leg.pc.getTransceivers() if leg.pc is not None else []:
            if transceiver.mid == mid and mid is not None:
                await transceiver.receiver.stop()

    # -- moving to another node ------------------------------------------------------------------
    async def _migrate(self, message: dict[str, Any]) -> None:
        """Make before break: join the target on a new leg, switch once it carries what the old one did."""
        old = self._leg
        assert old is not None
        move = Move("migrate", time.time(), node=message.get("node"))
        self.moves.append(move)
        url, token = str(message["url"]), str(message["token"])
        within = max(1.0, float(message["deadline"]) - time.time())
        tracks = {s: getattr(t, "fork", lambda t=t: t)() for s, t in old.tracks.items()}
        try:
            leg = await self._open_leg(url, token, tracks)
        except (aiohttp.ClientError, OSError):
            return  # the target is unreachable: the old leg carries on until the source drops it
        try:
            await self._join(leg)
        except (TimeoutError, JoinRefused):
            await self._close_leg(leg)
            return
        wanted = {r.publication_id for r in old.by_mid.values() if r.count > 0}

        def carried() -> bool:
            if leg.pc is None or leg.pc.connectionState != "connected":
                return False
            return wanted <= leg.got

        # Past the deadline the source drops us anyway: carry on with what the new leg has.
        with contextlib.suppress(TimeoutError):
            await self.wait_until(carried, within=within)
            move.completed = True
        self._leg, self.url, self.token, self.tracks = leg, url, token, tracks
        if not old.ws.closed:
            await old.ws.send_str(json.dumps({"type": "leave"}))
        await self._close_leg(old)
        move.finished = time.time()

    async def _recover(self, lost: Leg) -> None:
        """The socket died: resume on the same node, else a fresh token and URL from `recover()`."""
        move = Move("recover", time.time())
        self.moves.append(move)
        assert self._session is not None and self.recover is not None
        for pause in RESUME_RETRIES:
            await asyncio.sleep(pause)
            try:
                await self._open_socket()
                since = len(self.messages)
                await self.send({"type": "resume", "token": self.token, "participant_id": self.participant_id,
                                 "resume_key": self.resume_key, "restart_media": True})
                await self.wait_for("resume", within=2, since=since)
                move.finished, move.completed = time.time(), True
                return
            except (aiohttp.ClientError, OSError, TimeoutError):
                continue
        while not self.closing:
            try:
                url, token = await self.recover()
                tracks = {s: getattr(t, "fork", lambda t=t: t)() for s, t in self.tracks.items()}
                leg = await self._open_leg(url, token, tracks)
                self._leg, self.url, self.token, self.tracks = leg, url, token, tracks
                await self._join(leg)
                break
            except (aiohttp.ClientError, OSError, TimeoutError, JoinRefused):
                await asyncio.sleep(0.5)
        lost.retired = True
        if lost.pc is not None:
            await lost.pc.close()
        move.finished, move.completed = time.time(), True

    def _expect(self, leg: Leg, info: dict[str, Any]) -> None:
        mid = info.get("mid")
        if mid is None or mid in leg.by_mid:
            return
        received = self.received.get(info["publication_id"])
        if received is None:
            received = Received(info["publication_id"], info.get("participant_id", ""), info.get("source", ""),
                                info.get("kind", ""), self.keep_bytes)
            self.received[info["publication_id"]] = received
        leg.by_mid[mid] = received

    async def _on_offer(self, leg: Leg, message: dict[str, Any]) -> None:
        self.offers += 1
        if message.get("restart") or leg.pc is None:
            if leg.pc is not None:
                await leg.pc.close()
            leg.pc = peer.new_peer_connection(self.ice_servers)
            leg.tapped.clear()
            leg.by_mid.clear()
        pc = leg.pc
        for info in message.get("tracks", []):
            self._expect(leg, info)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
        inbound.fix_rtx_routing(pc)
        publish = message.get("publish", {})
        for transceiver in pc.getTransceivers():
            mid = transceiver.mid
            source = next((s for s, m in publish.items() if m == mid), None)
            if source is not None and source in leg.tracks and transceiver.sender.track is not leg.tracks[source]:
                # A reused m-line (a source published again) still holds the old track: swap it.
                track = leg.tracks[source]
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
                mime = "audio/opus" if track.kind == "audio" else f"video/{self.codecs[source]}"
                if getattr(track, "pre_encoded", True):
                    # Packets from a clip are packed; raw frames (ToneTrack) keep aiortc's encoder.
                    outbound.install_packer(transceiver.sender, mime)
                request = getattr(track, "request_keyframe", None)
                if request is not None:
                    outbound.on_keyframe_request(transceiver.sender, request)
            elif mid is not None and mid in leg.by_mid and mid not in leg.tapped:
                leg.tapped.add(mid)
                received = leg.by_mid[mid]

                def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame, r: Received = received) -> None:
                    r.add(frame.data)
                    leg.got.add(r.publication_id)
                    if self.frame_hook is not None:
                        self.frame_hook(r, frame.data)

                def on_packet(packet: RtpPacket, r: Received = received) -> None:
                    if r.keep_bytes:
                        r.packets.append((packet.sequence_number, packet.timestamp, packet.ssrc))

                inbound.tap_receiver(transceiver.receiver, transceiver.kind, on_frame, lambda: None, None, on_packet)
        if self.loss:
            self.set_uplink_loss(self.loss)
        peer.prepare_local_description(pc, self.ice_hosts)
        await pc.setLocalDescription(await pc.createAnswer())
        # The socket may close while we answer (replaced, or the node went away): the messages already
        # received behind this offer are still read; resume or recovery takes it from there.
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await leg.ws.send_str(json.dumps({"type": "answer", "sdp": pc.localDescription.sdp}))

    def set_downlink_loss(self, probability: float) -> None:
        """Lose this share of the RTP packets arriving here (test aid; call once connected)."""
        self.downlink_loss = probability
        if self.pc is not None:
            drop_incoming_rtp(self.pc, lambda data: random.random() < self.downlink_loss)

    def set_uplink_loss(self, probability: float) -> None:
        """Drop this share of our outgoing RTP packets (test aid)."""
        self.loss = probability
        if self.pc is not None:
            drop_outgoing_rtp(self.pc, lambda data: random.random() < self.loss)
