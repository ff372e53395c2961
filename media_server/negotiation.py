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
        answer_timeout: float = 0.0,
        on_answer_timeout: Callable[[], None] | None = None,
    ) -> None:
        self.pc = pc
        self._ice_hosts = ice_hosts
        self._send_offer = send_offer
        self._lock = asyncio.Lock()
        self.pending = False
        self.dirty = False
        self.answers = 0
        self._flush_task: asyncio.Task[None] | None = None
        self._answer_timeout = answer_timeout
        self._on_answer_timeout = on_answer_timeout
        self._answer_timer: asyncio.TimerHandle | None = None
        self._closed = False

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
                self._start_answer_clock()

    def _start_answer_clock(self) -> None:
        self._stop_answer_clock()
        # A closed negotiator starts no clock: a pending timer would keep its peer connection alive.
        if not self._closed and self._on_answer_timeout is not None and self._answer_timeout > 0:
            self._answer_timer = asyncio.get_running_loop().call_later(self._answer_timeout, self._answer_late)

    def _stop_answer_clock(self) -> None:
        if self._answer_timer is not None:
            self._answer_timer.cancel()
            self._answer_timer = None

    def _answer_late(self) -> None:
        self._answer_timer = None
        if self.pending and self.pc.signalingState != "closed" and self._on_answer_timeout is not None:
            self._on_answer_timeout()

    def close(self) -> None:
        """This connection is being replaced or closed: its offer no longer waits for anything."""
        self._closed = True
        self._stop_answer_clock()

    async def _offer(self) -> None:
        if self._closed or self.pc.signalingState == "closed":
            return
        self.dirty = False
        prepare_local_description(self.pc, self._ice_hosts)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.pending = True
        await self._send_offer(self.pc.localDescription.sdp)
        self._start_answer_clock()

    async def apply_answer(self, sdp: str) -> None:
        async with self._lock:
            if not self.pending:
                raise ProtocolError("no offer is waiting for an answer", "out_of_order")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except (
                ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError, UnicodeError,
                InternalError, InvalidAccessError, InvalidStateError, OperationError,
            ) as exc:
                # aiortc's SDP parser reports what it trips on; every one is the answer's fault.
                raise ProtocolError(f"answer rejected: {exc}", "bad_sdp") from exc
            self._stop_answer_clock()
            self.pending = False
            self.answers += 1

    async def flush(self) -> None:
        """Offer again if something changed while the last offer was out."""
        async with self._lock:
            if self.dirty and not self._must_wait():
                await self._offer()
