"""One person in a room: one peer connection to the server, what they send, what they get.

Lifecycle (ParticipantState): active -> (disconnected -> active)* -> left, and left
is final. The signaling socket may be replaced (resume) and so may the peer
connection (aiortc cannot restart ICE); the participant, its publications and its
subscriptions keep their identity. What the room sees is `connection_state`:
"reconnecting" while the socket is gone (and for `resume_settle` seconds after it came
back) or while the media connection is being replaced, "connected" otherwise; each
change is reported to the room (`participant_changed`).

An observer (an admin's token) receives everyone's media and may publish nothing.

A participant reaches its room only through `ParticipantParent` (Room implements
it); it never imports the room module.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, Protocol

from aiortc import RTCPeerConnection, RTCRtpTransceiver

from media_server import congestion, peer
from media_server.aiortc_hooks import outbound, reuse
from media_server.codecs import SOURCES, codec_for
from media_server.errors import ProtocolError
from media_server.negotiation import Negotiator
from media_server.protocol import CLOSE_REPLACED
from media_server.publication import Publication
from media_server.quality.scoring import StatsSample
from media_server.rates import MessageRates
from media_server.settings import MediaSettings
from media_server.subscription import Subscription
from media_server.tokens import JoinClaims


class Channel(Protocol):
    """The participant's signaling socket, as the media code sees it."""

    def send(self, payload: dict[str, Any]) -> None: ...

    def close(self, code: int = ...) -> None: ...

    async def room_for_more(self) -> bool:
        """Wait until the outgoing queue has room for a large message; False once closing."""
        ...


class ParticipantParent(Protocol):
    """What a participant asks of its room (Room implements it)."""

    def find_publication(self, publication_id: str) -> Publication | None: ...

    def live_publications(self, exclude: Participant | None = None) -> Iterator[Publication]: ...

    async def publication_live(self, publication: Publication) -> None: ...

    async def publication_ended(self, publication: Publication) -> None: ...

    def quality_changed(self, participant: Participant) -> None: ...

    def participant_changed(self, participant: Participant) -> None: ...

    def answer_overdue(self, participant: Participant) -> None: ...


class ParticipantState(StrEnum):
    ACTIVE = "active"  # its signaling socket is up
    DISCONNECTED = "disconnected"  # socket lost; keeps its place for the resume grace period
    LEFT = "left"


_NEXT = {
    ParticipantState.ACTIVE: {ParticipantState.DISCONNECTED, ParticipantState.LEFT},
    ParticipantState.DISCONNECTED: {ParticipantState.ACTIVE, ParticipantState.LEFT},
    ParticipantState.LEFT: set(),
}

log = logging.getLogger(__name__)
_ids = itertools.count(1)
CONNECTED = "connected"
RECONNECTING = "reconnecting"


class Participant:
    def __init__(self, room: ParticipantParent, claims: JoinClaims, settings: MediaSettings) -> None:
        self.id = f"p{next(_ids)}"
        self.room = room
        self.user_id = claims.user_id
        self.name = claims.name
        self.role = claims.role
        self.is_host = claims.is_host
        self.observer = claims.is_observer
        self.record = claims.record
        self.settings = settings
        self.resume_key = secrets.token_urlsafe(24)
        self.state = ParticipantState.ACTIVE
        self.channel: Channel | None = None
        self.pc: RTCPeerConnection | None = None
        self.negotiator: Negotiator | None = None
        self.publications: dict[str, Publication] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.subscribing = False
        self.media_lost = False
        self.quality: dict[str, Any] = {"level": "excellent", "score": 100.0, "reason": ""}
        self._announced: set[str] = set()
        self._restart_flag = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._grace: asyncio.TimerHandle | None = None
        # True from a media restart until its new peer connection is up.
        self._replacing_media = False
        # Set from a resume after a dropped socket until `resume_settle` has passed.
        self._settling: asyncio.TimerHandle | None = None
        self._reported = CONNECTED
        # Publication ids and mute states kept from another node (a migrated room), by source.
        self.adopted: dict[str, tuple[str, bool]] = {}
        self.rates = MessageRates(settings.rates)
        # Receiving m-lines of unpublished sources, inactive, for the next publication of their kind.
        self._idle: list[RTCRtpTransceiver] = []
        # Offers in a row that got no answer within `answer_timeout`.
        self._overdue = 0
        self.congestion = congestion.CongestionRule(
            congestion.CongestionPolicy(
                pause_loss=settings.congestion_pause_loss,
                resume_loss=settings.congestion_resume_loss,
                pause_rtt=settings.congestion_pause_rtt,
                pause_after=settings.congestion_pause_after,
                resume_after=settings.congestion_resume_after,
            ),
            time.monotonic,
        )
        self._downlink = congestion.DownlinkMeter()

    def _move_to(self, state: ParticipantState) -> None:
        """The only place the state changes."""
        if state is self.state:
            return
        if state not in _NEXT[self.state]:
            raise RuntimeError(f"participant {self.id}: {self.state} -> {state} is not a transition")
        self.state = state
        self._report_connection()

    @property
    def connection_state(self) -> str:
        if self.state is ParticipantState.DISCONNECTED or self._replacing_media or self._settling is not None:
            return RECONNECTING
        return CONNECTED

    def _report_connection(self) -> None:
        """Tell the room when `connection_state` changed (both ways), never twice."""
        if self.state is ParticipantState.LEFT:
            return
        current = self.connection_state
        if current != self._reported:
            self._reported = current
            self.room.participant_changed(self)

    # -- signaling --------------------------------------------------------------
    def message(self, payload: dict[str, Any]) -> None:
        if self.channel is not None:
            self.channel.send(payload)

    def describe(self) -> dict[str, Any]:
        return {
            "participant_id": self.id,
            "user_id": self.user_id,
            "name": self.name,
            "role": self.role,
            "connected": self.state is ParticipantState.ACTIVE,
            "state": self.connection_state,
            "observer": self.observer,
            "publications": [p.describe() for p in self.publications.values() if p.live],
            "quality": self.quality,
        }

    def socket_lost(self, channel: Channel, on_timeout: Callable[[], None]) -> None:
        if self.channel is not channel:
            return  # an older socket, already replaced by a resume
        self.channel = None
        if self.state is ParticipantState.ACTIVE:
            self._move_to(ParticipantState.DISCONNECTED)
            self._grace = asyncio.get_running_loop().call_later(self.settings.resume_grace, on_timeout)

    def reattach(self, channel: Channel) -> None:
        """A resume: `channel` replaces the lost (or stale) socket; the room hears of it.

        A resume on a new socket while the old one still looks open is a drop too: the
        client saw its socket die before the server did.
        """
        dropped = self.state is ParticipantState.DISCONNECTED or (
            self.channel is not None and self.channel is not channel
        )
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        if self.channel is not None and self.channel is not channel:
            # One live socket per participant: the older one is told why it goes quiet.
            self.channel.send(
                {
                    "type": "error",
                    "code": "replaced",
                    "ref": "resume",
                    "message": "this participant continues on another connection",
                }
            )
            self.channel.close(CLOSE_REPLACED)
        self.channel = channel
        if dropped:
            if self._settling is not None:
                self._settling.cancel()
            self._settling = asyncio.get_running_loop().call_later(self.settings.resume_settle, self._settled)
        self._move_to(ParticipantState.ACTIVE)
        self._report_connection()

    def _settled(self) -> None:
        self._settling = None
        self._report_connection()

    async def resume_media(self, restart_media: bool = False) -> None:
        """After `reattach`: a new peer connection if asked or lost, else the pending offer again."""
        if self.media_lost or restart_media:
            await self.restart_media()
        elif self.negotiator is not None:
            await self.negotiator.resend()

    # -- media connection --------------------------------------------------------
    async def start_media(self, sources: list[tuple[str, str | None]], restart: bool = False) -> None:
        """A new peer connection offering receive m-lines for `sources` (and, on a
        restart, for every publication kept); the first answer adds subscriptions."""
        old = self.pc
        kept = [p for p in self.publications.values() if not p.ended] if restart else []
        pc = peer.new_peer_connection(self.settings.ice_servers)
        self.pc = pc
        self.media_lost = False
        self.subscribing = False
        self._announced.clear()
        self._restart_flag = restart
        self._idle = []
        if self.negotiator is not None:
            self.negotiator.close()
        self.negotiator = Negotiator(
            pc, self.settings.ice_hosts, self._send_offer, self.settings.answer_timeout, self._answer_overdue
        )

        if restart:
            self._replacing_media = True
            self._report_connection()

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc is not self.pc or self.state is ParticipantState.LEFT:
                return
            if pc.connectionState == "connected" and self._replacing_media:
                self._replacing_media = False
                self._report_connection()
            elif pc.connectionState in ("failed", "closed"):
                self._spawn(self._on_media_failed())

        for publication in kept:
            publication.attach(peer.add_receiving(pc, publication.codec))
        for source, codec_name in sources:
            self._add_publication(source, codec_name)
        if not pc.getTransceivers():
            # A first offer needs one m-line to carry ICE/DTLS; subscriptions follow the answer.
            pc.createDataChannel("sfu")
        if old is not None:
            self._spawn(old.close())
        await self.negotiator.request()

    async def restart_media(self) -> None:
        await self.start_media([], restart=True)

    async def _on_media_failed(self) -> None:
        self.media_lost = True
        if self.channel is not None:
            await self.restart_media()

    def _add_publication(self, source: str, codec_name: str | None) -> Publication:
        if self.observer:
            raise ProtocolError("observers watch and send no media", "forbidden")
        if source not in SOURCES:
            raise ProtocolError(f"unknown source {source!r}")
        existing = self.publications.get(source)
        if existing is not None and not existing.ended:
            raise ProtocolError(f"{source} is already published", "already_published")
        live = sum(1 for p in self.publications.values() if not p.ended)
        if live >= self.settings.max_publications:
            raise ProtocolError(
                f"at most {self.settings.max_publications} sources at once; unpublish one first",
                "too_many_publications",
            )
        try:
            codec = codec_for(source, codec_name)
        except ValueError as exc:
            raise ProtocolError(str(exc), "bad_codec") from exc
        assert self.pc is not None
        publication = Publication(
            self.id, self.user_id, source, codec, self.settings.keyframe_interval, self._source_ended
        )
        idle = next((t for t in self._idle if t.kind == codec.kind), None)
        if idle is not None:
            self._idle.remove(idle)
            transceiver = reuse.fresh_receiver(idle)
            transceiver.setCodecPreferences(codec.preferences())
        else:
            transceiver = peer.add_receiving(self.pc, codec)
        if (adopted := self.adopted.pop(source, None)) is not None:
            publication.id, publication.muted = adopted
        publication.attach(transceiver)
        self.publications[source] = publication
        return publication

    async def publish(self, source: str, codec_name: str | None) -> None:
        self._add_publication(source, codec_name)
        assert self.negotiator is not None
        await self.negotiator.request()

    async def unpublish(self, source: str) -> None:
        publication = self.publications.get(source)
        if publication is None or publication.ended:
            raise ProtocolError(f"{source} is not published", "not_published")
        await self._end_publication(publication)
        assert self.negotiator is not None
        await self.negotiator.request()

    async def _end_publication(self, publication: Publication) -> None:
        was_live = publication.live
        publication.end()
        self.publications.pop(publication.source, None)
        transceiver = publication.transceiver
        if transceiver is not None:
            transceiver.direction = "inactive"
            self._spawn(transceiver.receiver.stop())
            if self.pc is not None and transceiver in self.pc.getTransceivers():
                self._idle.append(transceiver)
        if was_live:
            await self.room.publication_ended(publication)

    def _source_ended(self, publication: Publication) -> None:
        self._spawn(self._end_if_still_gone(publication, self.pc))

    async def _end_if_still_gone(self, publication: Publication, pc: RTCPeerConnection | None) -> None:
        # A stream ends on BYE and also when DTLS drops; in the second case the peer
        # connection closes a moment later and a reconnect will rebind the
        # publication, so only end it if its connection is still up after a beat.
        await asyncio.sleep(0.5)
        if publication.ended or pc is not self.pc or pc is None:
            return
        if pc.connectionState not in ("failed", "closed") and self.state is not ParticipantState.LEFT:
            await self._end_publication(publication)

    def set_muted(self, source: str, muted: bool) -> Publication:
        publication = self.publications.get(source)
        if publication is None:
            raise ProtocolError(f"{source} is not published", "not_published")
        publication.muted = muted
        return publication

    # -- quality ---------------------------------------------------------------------
    async def stats_samples(self, now: float) -> list[StatsSample]:
        """The quality monitor's input: one sample from each subscription and live publication."""
        samples: list[StatsSample] = []
        for subscription in list(self.subscriptions.values()):
            if (sample := await subscription.stats_sample(now)) is not None:
                samples.append(sample)
        for publication in list(self.publications.values()):
            if (sample := publication.stats_sample(now)) is not None:
                samples.append(sample)
        self._respond_to_congestion()
        return samples

    def _respond_to_congestion(self) -> None:
        """Pause (or resume) the video this participant receives when its downlink cannot carry
        it (media_server.congestion); audio keeps flowing and keeps measuring the link."""
        flowing = [s for s in self.subscriptions.values() if s.flowing]
        reading = self._downlink.measure([(s.id, s.fraction_lost, s.rtt, s.packets_sent, s.nacks) for s in flowing])
        change = self.congestion.observe(reading)
        if change is None:
            return
        videos = [s for s in self.subscriptions.values() if s.kind == "video"]
        for subscription in videos:
            if change == congestion.PAUSED:
                subscription.pause_video()
            else:
                subscription.resume_video()
        self.message(
            {
                "type": change,
                "reason": congestion.REASON,
                "message": congestion.MESSAGE if change == congestion.PAUSED else "",
                "publication_ids": [s.publication_id for s in videos],
                "loss": 0.0 if reading is None else round(reading.effective_loss, 3),
                "rtt": None if reading is None or reading.rtt is None else round(reading.rtt, 3),
            }
        )

    def quality_scored(self, level: str, score: float, reason: str, changed: bool) -> None:
        """The monitor's latest verdict on this participant; a change is announced in the room."""
        self.quality = {"level": level, "score": score, "reason": reason}
        if changed:
            self.room.quality_changed(self)

    # -- negotiation ---------------------------------------------------------------
    async def _send_offer(self, sdp: str) -> None:
        for subscription in self.subscriptions.values():
            if subscription.id not in self._announced and subscription.mid is not None:
                self._announced.add(subscription.id)
                self.message({"type": "track_added", **self._track_info(subscription)})
        self.message(
            {
                "type": "offer",
                "sdp": sdp,
                "restart": self._restart_flag,
                "publish": {p.source: p.mid for p in self.publications.values() if not p.ended},
                "tracks": [self._track_info(s) for s in self.subscriptions.values() if s.mid is not None],
            }
        )
        self._restart_flag = False

    def _track_info(self, subscription: Subscription) -> dict[str, Any]:
        publication = self.room.find_publication(subscription.publication_id)
        info: dict[str, Any] = {"mid": subscription.mid, "publication_id": subscription.publication_id}
        if publication is not None:
            info.update(publication.describe())
        return info

    def _answer_overdue(self) -> None:
        """The last offer got no answer in time: say so and start over; the second time in a
        row, the participant is removed (it must never hold the room's negotiation up)."""
        if self.state is not ParticipantState.ACTIVE or self.channel is None:
            return  # a resume sends the offer again and restarts the clock
        self._overdue += 1
        self.message(
            {
                "type": "error",
                "code": "answer_timeout",
                "ref": "answer",
                "message": f"no answer to the offer within {self.settings.answer_timeout:g} s",
            }
        )
        if self._overdue >= 2:
            self.room.answer_overdue(self)
        else:
            self._spawn(self.restart_media())

    async def on_answer(self, sdp: str) -> None:
        if self.negotiator is None or self.pc is None:
            raise ProtocolError("no media connection yet", "out_of_order")
        await self.negotiator.apply_answer(sdp)
        self._overdue = 0
        for publication in list(self.publications.values()):
            if publication.ended or publication.transceiver is None:
                continue
            if publication.media_ssrc is None:
                publication.media_ssrc = peer.remote_ssrc(self.pc, publication.mid)
            accepted = publication.transceiver.currentDirection in ("recvonly", "sendrecv")
            if accepted and publication.go_live():
                await self.room.publication_live(publication)
            elif accepted and publication.kind == "video":
                publication.request_keyframe()
        if not self.subscribing:
            self.subscribing = True
            for subscription in self.subscriptions.values():
                self._bind_subscription(subscription)
            for publication in self.room.live_publications(exclude=self):
                self.subscribe(publication)
        await self.negotiator.flush()

    def subscribe(self, publication: Publication) -> None:
        """Forward `publication` to this participant (re-offer follows via negotiator)."""
        if publication.id in self.subscriptions or self.state is ParticipantState.LEFT:
            return
        capacity = self.settings.video_queue_frames if publication.kind == "video" else self.settings.audio_queue_frames
        raw_history = self.settings.raw_history_packets if self.settings.forwarding == "raw" else None
        subscription = Subscription(publication, self.id, capacity, raw_history)
        if self.congestion.paused:
            subscription.pause_video()
        self.subscriptions[publication.id] = subscription
        if self.subscribing:
            self._bind_subscription(subscription)

    def _bind_subscription(self, subscription: Subscription) -> None:
        publication = self.room.find_publication(subscription.publication_id)
        if publication is None or self.pc is None:
            return
        if subscription.transceiver is not None:
            subscription.rebind()
        transceivers = self.pc.getTransceivers()
        if len(transceivers) >= self.settings.max_mlines and any(t.direction == "inactive" for t in transceivers):
            # Churn from others' publish/unpublish would grow this connection without bound: a fresh
            # one binds every live subscription after its first answer, and nothing retired.
            if not self._replacing_media:
                self._spawn(self.restart_media())
            return
        subscription.transceiver = peer.add_sending(
            self.pc, subscription, publication.codec, publication.request_keyframe
        )
        publication.add_subscription(subscription)
        self._spawn(self.negotiator.request() if self.negotiator else asyncio.sleep(0))

    def unsubscribe(self, publication: Publication) -> None:
        subscription = self.subscriptions.pop(publication.id, None)
        if subscription is None:
            return
        publication.remove_subscription(subscription)
        subscription.close()
        transceiver = subscription.transceiver
        if transceiver is not None:
            transceiver.direction = "inactive"
            self._spawn(outbound.retire_sender(transceiver.sender))
            if subscription.id in self._announced:
                self.message({"type": "track_removed", "mid": transceiver.mid, "publication_id": publication.id})
            if self.negotiator is not None:
                self._spawn(self.negotiator.request())

    # -- closing ---------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("participant %s: background task failed", self.id, exc_info=task.exception())

    def detach(self) -> list[Publication]:
        """Leave the room's bookkeeping at once; returns the publications that were live."""
        self._move_to(ParticipantState.LEFT)
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None
        live = [p for p in self.publications.values() if p.live]
        for publication in self.publications.values():
            publication.end()
        self.publications.clear()
        for publication_id, subscription in list(self.subscriptions.items()):
            source = self.room.find_publication(publication_id)
            if source is not None:
                source.remove_subscription(subscription)
            subscription.close()
        self.subscriptions.clear()
        return live

    async def shutdown(self) -> None:
        """Close the peer connection and wait (briefly) for the work this participant started."""
        if self.negotiator is not None:
            self.negotiator.close()
        if self.pc is not None:
            await self.pc.close()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=2)
            for task in late:
                task.cancel()
