"""Offer/answer on one peer connection, one exchange at a time, the server offering.

aiortc has no `negotiationneeded` and no rollback, and a browser rejects aiortc's
re-offers after a browser-made offer, so: every change asks for an offer; while an
offer waits for its answer, further changes only mark the state dirty, and one
more offer follows the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError

from media_server.errors import ProtocolError
from media_server.peer import prepare_local_description


class Negotiator:
    def __init__(
        self,
        pc: RTCPeerConnection,
        ice_hosts: Sequence[str],
        send_offer: Callable[[str], Awaitable[None]],
    ) -> None:
        self.pc = pc
        self._ice_hosts = ice_hosts
        self._send_offer = send_offer
        self._lock = asyncio.Lock()
        self.pending = False
        self.dirty = False
        self.answers = 0
        self._flush_task: asyncio.Task[None] | None = None

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected" and self.dirty:
                self._flush_task = asyncio.ensure_future(self.flush())

    def _must_wait(self) -> bool:
        # aiortc starts senders and receivers only from a connect pass that finds
        # DTLS connected; an answer applied while the first handshake is still
        # running would leave the new m-lines idle for good. So re-offers wait
        # until the connection is up.
        return self.pending or (self.answers > 0 and self.pc.connectionState != "connected")

    async def request(self) -> None:
        async with self._lock:
            if self._must_wait():
                self.dirty = True
                return
            await self._offer()

    async def resend(self) -> None:
        """Send the offer still waiting for an answer again (after a socket resume)."""
        async with self._lock:
            if self.pending and self.pc.localDescription is not None:
                await self._send_offer(self.pc.localDescription.sdp)

    async def _offer(self) -> None:
        if self.pc.signalingState == "closed":
            return
        self.dirty = False
        prepare_local_description(self.pc, self._ice_hosts)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.pending = True
        await self._send_offer(self.pc.localDescription.sdp)

    async def apply_answer(self, sdp: str) -> None:
        async with self._lock:
            if not self.pending:
                raise ProtocolError("no offer is waiting for an answer", "out_of_order")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except (
                ValueError, KeyError, IndexError, TypeError,
                InternalError, InvalidAccessError, InvalidStateError, OperationError,
            ) as exc:
                raise ProtocolError(f"answer rejected: {exc}", "bad_sdp") from exc
            self.pending = False
            self.answers += 1

    async def flush(self) -> None:
        """Offer again if something changed while the last offer was out."""
        async with self._lock:
            if self.dirty and not self._must_wait():
                await self._offer()
