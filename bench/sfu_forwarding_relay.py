"""The comparison point: aiortc's MediaRelay behind the same /rtc protocol subset.

Every publication is decoded once (aiortc's receiver decoder thread) and fanned out
as raw frames; every subscriber's sender encodes them again. Speaks join/offer/
answer/track_added like media_server, so the same load clients drive both.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from media_server import peer
from media_server.codecs import codec_for

_ids = itertools.count(1)


class Source(MediaStreamTrack):
    """Stands for a publisher's remote track before the answer that creates it arrives."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.remote: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        return await (await self.remote).recv()


class RelayPeer:
    def __init__(self, server: RelayServer, ws: web.WebSocketResponse) -> None:
        self.id = f"p{next(_ids)}"
        self.server, self.ws = server, ws
        self.pc = peer.new_peer_connection()
        self.answered = False
        self.pending = False
        self.dirty = False

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            if self.pc.connectionState == "connected" and self.dirty:
                self.server.spawn(self.offer())

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(payload))

    async def offer(self) -> None:
        if self.pending or (self.answered and self.pc.connectionState != "connected"):
            self.dirty = True
            return
        self.dirty = False
        peer.prepare_local_description(self.pc, self.server.ice_hosts)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.pending = True
        publish = {t._bench_source[1]: t.mid for t in self.pc.getTransceivers()  # type: ignore[attr-defined]
                   if hasattr(t, "_bench_source")}
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp, "restart": False,
                         "publish": publish, "tracks": self.server.tracks_for(self)})

    async def on_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.pending = False
        for transceiver in self.pc.getTransceivers():
            entry = getattr(transceiver, "_bench_source", None)
            track = transceiver.receiver.track
            if entry is not None and track is not None and not entry[0].remote.done():
                entry[0].remote.set_result(track)
                self.server.publish(self, entry[0])
        if not self.answered:
            self.answered = True
            for source in list(self.server.publications):
                self.server.subscribe(self, source)
        if self.dirty:
            await self.offer()


class RelayServer:
    def __init__(self, ice_hosts: tuple[str, ...]) -> None:
        self.ice_hosts = ice_hosts
        self.relay = MediaRelay()
        self.peers: list[RelayPeer] = []
        self.publications: dict[Source, dict[str, Any]] = {}
        self.subscriptions: dict[tuple[str, int], str] = {}  # (peer, source) -> mid
        self._drains: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def tracks_for(self, p: RelayPeer) -> list[dict[str, Any]]:
        out = []
        for transceiver in p.pc.getTransceivers():
            info = getattr(transceiver, "_bench_info", None)
            if info is not None and transceiver.mid is not None:
                out.append({"mid": transceiver.mid, **info})
        return out

    def publish(self, owner: RelayPeer, source: Source) -> None:
        self.publications[source] = {"publication_id": f"pub{next(_ids)}", "participant_id": owner.id,
                                     "source": "camera" if source.kind == "video" else "microphone",
                                     "kind": source.kind}
        # A relay decodes whether or not anyone watches: keep one reader on the source.
        self._drains.append(asyncio.ensure_future(self._drain(self.relay.subscribe(source))))
        for p in self.peers:
            if p is not owner and p.answered:
                self.subscribe(p, source)

    async def _drain(self, track: MediaStreamTrack) -> None:
        while True:
            await track.recv()

    def subscribe(self, p: RelayPeer, source: Source) -> None:
        info = self.publications.get(source)
        if info is None or info["participant_id"] == p.id:
            return
        transceiver = p.pc.addTransceiver(self.relay.subscribe(source), direction="sendonly")
        transceiver._bench_info = info  # type: ignore[attr-defined]
        self.spawn(p.offer())

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        p = RelayPeer(self, ws)
        self.peers.append(p)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            if message["type"] == "join":
                await p.send({"type": "join", "participant_id": p.id, "resume_key": "", "participants": []})
                for item in message.get("publish", []):
                    name = item if isinstance(item, str) else item["source"]
                    codec = codec_for(name)
                    transceiver = peer.add_receiving(p.pc, codec)
                    transceiver._bench_source = (Source(codec.kind), name)  # type: ignore[attr-defined]
                if not p.pc.getTransceivers():
                    p.pc.createDataChannel("sfu")
                await p.offer()
            elif message["type"] == "answer":
                await p.on_answer(message["sdp"])
        self.peers.remove(p)
        await p.pc.close()
        return ws

    def all_pcs(self) -> list[RTCPeerConnection]:
        return [p.pc for p in self.peers]
