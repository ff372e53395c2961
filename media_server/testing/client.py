"""A Python participant speaking /rtc, for tests and load: aiortc without decode or encode.

It publishes ClipTracks through the pack() path and records each forwarded frame it
receives as bytes (through the same receiver tap the server uses), so callers can
check frames byte for byte. Not used by the server itself.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media_server import peer
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


class SfuClient:
    def __init__(
        self, url: str, token: str, *, ice_hosts: tuple[str, ...] = ("127.0.0.1",), keep_bytes: bool = True
    ) -> None:
        self.url = url
        self.token = token
        self.ice_hosts = ice_hosts
        self.keep_bytes = keep_bytes
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.codecs: dict[str, str] = {}
        self.received: dict[str, Received] = {}
        self.by_mid: dict[str, Received] = {}
        self.messages: list[dict[str, Any]] = []
        self.participant_id: str | None = None
        self.resume_key: str | None = None
        self.pc: RTCPeerConnection | None = None
        self.loss = 0.0
        self.downlink_loss = 0.0
        self.offers = 0
        # Called with each received frame's bytes (e.g. a benchmark probe that decodes).
        self.frame_hook: Callable[[Received, bytes], None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._tapped: set[str] = set()

    # -- connection ----------------------------------------------------------------------
    async def connect(self, publish: dict[str, MediaStreamTrack] | None = None, codec: str = "VP8") -> dict[str, Any]:
        self.tracks.update(publish or {})
        for source in self.tracks:
            self.codecs.setdefault(source, codec if source != "microphone" else "opus")
        await self._open_socket()
        await self.send({"type": "join", "publish": [
            {"source": s, "codec": self.codecs[s]} if s != "microphone" else s for s in self.tracks]})
        reply = await self.wait_for("join")
        self.participant_id = reply["participant_id"]
        self.resume_key = reply["resume_key"]
        return reply

    async def _open_socket(self, token: str | None = None) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(f"{self.url}?token={token or self.token}", max_msg_size=0)
        self._reader = asyncio.create_task(self._read(self._ws))

    async def drop_socket(self) -> None:
        """Simulate a network cut of the signaling socket (no leave)."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def resume(self, restart_media: bool = False) -> dict[str, Any]:
        await self._open_socket()
        await self.send({"type": "resume", "participant_id": self.participant_id,
                         "resume_key": self.resume_key, "restart_media": restart_media})
        return await self.wait_for("resume")

    async def publish(self, source: str, track: MediaStreamTrack, codec: str = "VP8") -> None:
        self.tracks[source] = track
        self.codecs[source] = codec if source != "microphone" else "opus"
        await self.send({"type": "publish", "source": source, "codec": codec})

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
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self.pc is not None:
            await self.pc.close()
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

    # -- signaling ----------------------------------------------------------------------------
    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            if message["type"] == "offer":
                await self._on_offer(message)
            elif message["type"] == "track_added":
                self._expect(message)
            elif message["type"] == "track_removed":
                await self._stop_receiver(message.get("mid"))
            async with self._changed:
                self.messages.append(message)
                self._changed.notify_all()

    async def _stop_receiver(self, mid: str | None) -> None:
        # aiortc keeps an inactive m-line's receiver (and its RTCP task) alive; a
        # browser stops it, so this client does too.
        for transceiver in self.pc.getTransceivers() if self.pc is not None else []:
            if transceiver.mid == mid and mid is not None:
                await transceiver.receiver.stop()

    def _expect(self, info: dict[str, Any]) -> None:
        mid = info.get("mid")
        if mid is None or mid in self.by_mid:
            return
        received = self.received.get(info["publication_id"])
        if received is None:
            received = Received(info["publication_id"], info.get("participant_id", ""), info.get("source", ""),
                                info.get("kind", ""), self.keep_bytes)
            self.received[info["publication_id"]] = received
        self.by_mid[mid] = received

    async def _on_offer(self, message: dict[str, Any]) -> None:
        self.offers += 1
        if message.get("restart") or self.pc is None:
            if self.pc is not None:
                await self.pc.close()
            self.pc = peer.new_peer_connection()
            self._tapped.clear()
            self.by_mid.clear()
        pc = self.pc
        for info in message.get("tracks", []):
            self._expect(info)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
        inbound.fix_rtx_routing(pc)
        publish = message.get("publish", {})
        for transceiver in pc.getTransceivers():
            mid = transceiver.mid
            source = next((s for s, m in publish.items() if m == mid), None)
            if source is not None and source in self.tracks and transceiver.sender.track is None:
                track = self.tracks[source]
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
                mime = "audio/opus" if track.kind == "audio" else f"video/{self.codecs[source]}"
                if getattr(track, "pre_encoded", True):
                    # Packets from a clip are packed; raw frames (ToneTrack) keep aiortc's encoder.
                    outbound.install_packer(transceiver.sender, mime)
                request = getattr(track, "request_keyframe", None)
                if request is not None:
                    outbound.on_keyframe_request(transceiver.sender, request)
            elif mid is not None and mid in self.by_mid and mid not in self._tapped:
                self._tapped.add(mid)
                received = self.by_mid[mid]

                def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame, r: Received = received) -> None:
                    r.add(frame.data)
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
        await self.send({"type": "answer", "sdp": pc.localDescription.sdp})

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
