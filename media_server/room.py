"""A room: its participants, what is said and drawn in it, its recording.

Lifecycle (RoomState): open -> ending -> ended. It ends by the host, when the last
participant is gone, or when the node closes; while ending, its participants leave
and its recording is finished; an ended room is removed from the node and never
reopened. Whether the host has started the session is a fact (`started_at`), not a
state: a room can end without being started.

The room also decides its active speaker (`speaker.ActiveSpeaker`) on a timer that runs
only while two or more microphones are live, and announces each change as `speaker`.
Observers (admins) are in the room but never counted as attendees.

A room reaches its node only through `RoomParent` (MediaNode implements it); it
never imports the node module.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from media_server.errors import ProtocolError
from media_server.events import (
    ActiveSpeakerChanged,
    ChatPosted,
    NodeEvent,
    ParticipantJoined,
    ParticipantLeft,
    QualityChanged,
    RoomEnded,
    RoomStarted,
)
from media_server.handover import Arrival, RoomSnapshot, next_run
from media_server.participant import Channel, Participant
from media_server.protocol import MAX_STROKE
from media_server.publication import Publication
from media_server.recording.recorder import Recorder
from media_server.settings import MediaSettings
from media_server.speaker import ActiveSpeaker
from media_server.tokens import JoinClaims


class RoomParent(Protocol):
    """What a room asks of its node (MediaNode implements it)."""

    @property
    def settings(self) -> MediaSettings: ...

    def now(self) -> datetime: ...

    def emit(self, event: NodeEvent) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

    def room_closed(self, room: Room) -> None: ...


class RoomState(StrEnum):
    OPEN = "open"
    ENDING = "ending"
    ENDED = "ended"


_NEXT = {
    RoomState.OPEN: {RoomState.ENDING},
    RoomState.ENDING: {RoomState.ENDED},
    RoomState.ENDED: set(),
}


class Room:
    def __init__(self, code: str, node: RoomParent) -> None:
        self.code = code
        self.node = node
        self.settings = node.settings
        self.participants: dict[str, Participant] = {}
        self.chat: deque[dict[str, Any]] = deque(maxlen=self.settings.chat_history)
        self.whiteboard = Whiteboard(self.settings.whiteboard_history_bytes)
        self.recorder: Recorder | None = None
        self.started_at: datetime | None = None
        self.end_reason: str | None = None
        self.state = RoomState.OPEN
        self.speaker = ActiveSpeaker(self.settings.speaker_threshold, self.settings.speaker_hold)
        self._speaker_timer: asyncio.TimerHandle | None = None
        self._chat_ids = 0
        # Migration (media_server.migration): on a target, who comes back with which ids; on a
        # draining source, what to do with someone who joins meanwhile (told to move too).
        self.arrivals: dict[str, Arrival] = {}
        self.on_joined: Callable[[Participant], None] | None = None
        # Why the room ends when its last participant leaves ("migrated" once it has moved away).
        self.empty_reason = "empty"

    def _move_to(self, state: RoomState) -> None:
        """The only place the state changes."""
        if state not in _NEXT[self.state]:
            raise RuntimeError(f"room {self.code}: {self.state} -> {state} is not a transition")
        self.state = state

    @property
    def ended(self) -> bool:
        """Ending or ended: end() runs once, and leaving no longer ends it again."""
        return self.state is not RoomState.OPEN

    # -- membership ------------------------------------------------------------------
    async def join(self, claims: JoinClaims, channel: Channel, sources: list[tuple[str, str | None]]) -> Participant:
        if claims.is_observer and sources:
            raise ProtocolError("observers watch and send no media; join without 'publish'", "forbidden")
        for other in list(self.participants.values()):
            if other.user_id == claims.user_id:
                other.message({"type": "error", "code": "replaced", "message": "joined from elsewhere"})
                await self.leave(other, "replaced", end_if_empty=False)
        participant = Participant(self, claims, self.settings)
        arrival = self.arrivals.pop(claims.user_id, None)
        if arrival is not None:
            # Back from another node: same ids, so every client keeps its tiles.
            participant.id = arrival.participant_id
            participant.adopted = dict(arrival.publications)
        kept = {a.participant_id for a in self.arrivals.values()}
        while participant.id in self.participants or participant.id in kept:
            participant.id += "n"  # another process's counter may have handed out the same id
        participant.channel = channel
        self.participants[participant.id] = participant
        if claims.record and claims.is_host and self.recorder is None:
            self.recorder = self._start_recorder()
            for present in self.participants.values():
                if present is not participant:
                    self.recorder.joined(present.id, present.user_id, present.name, present.role)
            for publication in self.live_publications():
                self.recorder.add(publication)
        if self.recorder is not None:
            self.recorder.joined(participant.id, participant.user_id, participant.name, participant.role)
        channel.send(
            {
                "type": "join",
                "participant_id": participant.id,
                "resume_key": participant.resume_key,
                "room": self.code,
                "role": participant.role,
                "observer": participant.observer,
                "started": self.started_at is not None,
                "started_at": iso_utc(self.started_at),
                "ended": False,
                "recording": self.recorder is not None,
                "participants": self.describe(),
                "attendees": self.attendees(),
                "chat": list(self.chat),
            }
        )
        self.send_whiteboard(participant)
        self.send_speaker(participant)
        self.node.emit(ParticipantJoined(self.code, participant.id, claims.user_id, claims.name, claims.role))
        self.announce(participant, exclude=participant)
        await participant.start_media(sources)
        if self.on_joined is not None:
            self.on_joined(participant)
        return participant

    async def leave(self, participant: Participant, reason: str, end_if_empty: bool = True) -> None:
        if self.participants.pop(participant.id, None) is None:
            return
        if self.recorder is not None:
            self.recorder.left(participant.id)
        for publication in participant.detach():
            await self.publication_ended(publication)
        self.node.emit(
            ParticipantLeft(
                self.code, participant.id, participant.user_id, participant.name, participant.role, reason
            )
        )
        self.broadcast({"type": "participant_left", "participant_id": participant.id, "attendees": self.attendees()})
        # As a node task: the socket handler that asked may be cancelled when its
        # client goes away, and a half-closed peer connection would leak its transports.
        await asyncio.shield(self.node.spawn(participant.shutdown()))
        if end_if_empty and not self.participants and not self.ended:
            await self.end(self.empty_reason)

    def answer_overdue(self, participant: Participant) -> None:
        """It let offers go unanswered twice in a row: it leaves, the room carries on."""
        self.node.spawn(self.leave(participant, "answer_timeout"))

    def timeout_callback(self, participant: Participant) -> Callable[[], None]:
        def expire() -> None:
            self.node.spawn(self.leave(participant, "timeout"))

        return expire

    def _start_recorder(self, run: str | None = None) -> Recorder:
        settings = self.settings
        return Recorder(settings.recordings_dir / self.code, room=self.code,
                        run=run or self.node.now().strftime("%Y%m%dT%H%M%S"),
                        segment_seconds=settings.recording_segment_seconds, grace=settings.recording_segment_grace,
                        on_segment=self.node.emit)

    # -- migration ---------------------------------------------------------------------
    def snapshot(self, expires_in: float) -> RoomSnapshot:
        """What another node needs to carry this room on (media_server.handover)."""
        arrivals = {
            p.user_id: Arrival(p.id, {pub.source: (pub.id, pub.muted) for pub in p.publications.values()
                                      if not pub.ended})
            for p in self.participants.values()
        }
        return RoomSnapshot(code=self.code, chat=list(self.chat), chat_ids=self._chat_ids,
                            whiteboard=list(self.whiteboard),
                            started_at=self.started_at.isoformat() if self.started_at is not None else None,
                            recording_run=self.recorder.run if self.recorder is not None else None,
                            arrivals=arrivals, expires_in=expires_in)

    def restore(self, snapshot: RoomSnapshot) -> None:
        """Carry on a room that moved here: its history, its start, its recording (as the next run)."""
        if not self.chat:
            self.chat.extend(snapshot.chat)
            self._chat_ids = max(self._chat_ids, snapshot.chat_ids)
        if not len(self.whiteboard):
            for entry in snapshot.whiteboard:
                self.whiteboard.append(entry)
        if self.started_at is None and snapshot.started_at is not None:
            self.started_at = datetime.fromisoformat(snapshot.started_at.replace("Z", "+00:00"))
        if snapshot.recording_run is not None and self.recorder is None:
            self.recorder = self._start_recorder(next_run(snapshot.recording_run))
        self.arrivals.update(snapshot.arrivals)

    # -- media -----------------------------------------------------------------------
    def find_publication(self, publication_id: str) -> Publication | None:
        for participant in self.participants.values():
            for publication in participant.publications.values():
                if publication.id == publication_id:
                    return publication
        return None

    def live_publications(self, exclude: Participant | None = None) -> Iterator[Publication]:
        for participant in list(self.participants.values()):
            if participant is exclude:
                continue
            for publication in list(participant.publications.values()):
                if publication.live and not publication.ended:
                    yield publication

    async def publication_live(self, publication: Publication) -> None:
        for participant in self.participants.values():
            if participant.id != publication.participant_id:
                participant.subscribe(publication)
        if self.recorder is not None:
            self.recorder.add(publication)
        self._announce_owner(publication)
        self._watch_speaker()

    async def publication_ended(self, publication: Publication) -> None:
        for participant in self.participants.values():
            participant.unsubscribe(publication)
        if self.recorder is not None:
            self.recorder.remove(publication)
        self._announce_owner(publication)
        self._watch_speaker()

    # -- active speaker ------------------------------------------------------------------
    def _microphones(self) -> list[Publication]:
        return [p for p in self.live_publications() if p.kind == "audio"]

    def _watch_speaker(self) -> None:
        """Run the speaker timer only while two or more microphones are live."""
        enough = not self.ended and len(self._microphones()) >= 2
        if enough and self._speaker_timer is None:
            self._speaker_timer = asyncio.get_running_loop().call_later(
                self.settings.speaker_interval, self._speaker_tick
            )
        elif not enough:
            if self._speaker_timer is not None:
                self._speaker_timer.cancel()
                self._speaker_timer = None
            if self.speaker.reset():
                self._announce_speaker()

    def _speaker_tick(self) -> None:
        self._speaker_timer = None
        try:
            now = time.monotonic()
            max_age = 2 * self.settings.speaker_interval
            levels: dict[str, int] = {}
            for publication in self._microphones():
                # Every microphone is drained; a muted one is never a candidate.
                level = publication.take_audio_level(now, max_age)
                if not publication.muted:
                    levels[publication.participant_id] = min(level, levels.get(publication.participant_id, level))
            if self.speaker.update(now, levels):
                self._announce_speaker()
        finally:
            # A timer callback that raised would otherwise never run again.
            self._watch_speaker()

    def _announce_speaker(self) -> None:
        current = self.speaker.current
        self.broadcast({"type": "speaker", "participant_id": current})
        speaker = self.participants.get(current) if current is not None else None
        self.node.emit(ActiveSpeakerChanged(self.code, current, speaker.user_id if speaker is not None else None))

    def send_whiteboard(self, participant: Participant) -> None:
        """The board as it stands, in `whiteboard.page` messages after `join`/`resume`.

        The first page goes at once (right behind the join); the others as the socket's queue
        drains, so a long drawing never fills it. A clear while they are sent stops them (the
        clear itself reaches the joiner as a `whiteboard` message).
        """
        channel = participant.channel
        if channel is None:
            return
        pages = self.whiteboard.pages(self.settings.whiteboard_page_bytes)
        generation = self.whiteboard.generation

        def page(index: int) -> dict[str, Any]:
            return {"type": "whiteboard.page", "index": index, "last": index == len(pages) - 1, "entries": pages[index]}

        channel.send(page(0))
        if len(pages) > 1:
            self.node.spawn(self._send_pages(participant, channel, page, len(pages), generation))

    async def _send_pages(
        self,
        participant: Participant,
        channel: Channel,
        page: Callable[[int], dict[str, Any]],
        count: int,
        generation: int,
    ) -> None:
        for index in range(1, count):
            if not await channel.room_for_more():
                return
            if participant.channel is not channel or self.whiteboard.generation != generation:
                return
            channel.send(page(index))

    def send_speaker(self, participant: Participant) -> None:
        """A (re)joining participant learns who is speaking now (nothing when nobody is)."""
        if self.speaker.current is not None:
            participant.message({"type": "speaker", "participant_id": self.speaker.current})

    # -- messages --------------------------------------------------------------------
    def broadcast(self, payload: dict[str, Any], exclude: Participant | None = None) -> None:
        for participant in self.participants.values():
            if participant is not exclude:
                participant.message(payload)

    def describe(self) -> list[dict[str, Any]]:
        return [p.describe() for p in self.participants.values()]

    def attendees(self) -> int:
        """Everyone in the room but observers."""
        return sum(1 for p in self.participants.values() if not p.observer)

    def announce(self, participant: Participant, exclude: Participant | None = None) -> None:
        """One participant joined or changed: the others get its entry, not the whole list. A list
        per change would cost every join in a room of N the encoding and sending of N lists of N:
        O(N³) bytes while a large room fills, enough to overflow the sockets' queues."""
        self.broadcast(
            {"type": "participant", "participant": participant.describe(), "attendees": self.attendees()}, exclude
        )

    def _announce_owner(self, publication: Publication) -> None:
        owner = self.participants.get(publication.participant_id)
        if owner is not None:  # gone: its `participant_left` says it all
            self.announce(owner)

    def participant_changed(self, participant: Participant) -> None:
        """Its connection state changed (reconnecting <-> connected): everyone sees it."""
        self.announce(participant)

    def quality_changed(self, participant: Participant) -> None:
        quality = participant.quality
        self.broadcast({"type": "quality", "participant_id": participant.id, **quality})
        self.node.emit(
            QualityChanged(
                self.code, participant.id, participant.user_id, quality["level"], quality["score"], quality["reason"]
            )
        )

    def add_chat(self, participant: Participant, text: str) -> dict[str, Any]:
        self._chat_ids += 1
        ts = self.node.now().isoformat()
        entry: dict[str, Any] = {
            "id": self._chat_ids,
            "participant_id": participant.id,
            "user_id": participant.user_id,
            "name": participant.name,
            "text": text,
            "ts": ts,
        }
        self.chat.append(entry)
        self.node.emit(ChatPosted(self.code, self._chat_ids, participant.user_id, participant.name, text, ts))
        return entry

    def start(self, participant: Participant) -> None:
        if self.started_at is None:
            self.started_at = self.node.now()
            self.node.emit(RoomStarted(self.code, participant.user_id, self.recorder is not None))
        self.broadcast(
            {
                "type": "start",
                "by": participant.id,
                "recording": self.recorder is not None,
                "started_at": iso_utc(self.started_at),
            }
        )

    async def end(self, reason: str) -> None:
        if self.ended:
            return
        self._move_to(RoomState.ENDING)
        self.end_reason = reason
        if self._speaker_timer is not None:
            self._speaker_timer.cancel()
            self._speaker_timer = None
        self.broadcast({"type": "end", "reason": reason})
        for participant in list(self.participants.values()):
            await self.leave(participant, "room_ended", end_if_empty=False)
        files = await self.recorder.finish() if self.recorder is not None else []
        self._move_to(RoomState.ENDED)
        self.node.room_closed(self)
        self.node.emit(RoomEnded(self.code, reason, files, list(self.whiteboard)))


class Whiteboard:
    """What is on the board since the last clear: a compacted snapshot plus the strokes since,
    together at most `max_bytes` of JSON (the oldest dropped first).

    The page sends a stroke as many segments (one per animation frame, sharing an `id`); every
    `compact_every` entries the segments of one stroke are merged into one entry (up to
    `protocol.MAX_STROKE` bytes), so a long drawing costs a joiner a few entries, not thousands.
    Strokes stay opaque otherwise: only entries shaped like the page's ({id, p: [[x, y], ...]})
    with the same author, id and pen are merged.
    """

    def __init__(self, max_bytes: int, compact_every: int = 256) -> None:
        self._max_bytes = max_bytes
        self._compact_every = compact_every
        self._snapshot: deque[tuple[dict[str, Any], int]] = deque()
        self._recent: list[tuple[dict[str, Any], int]] = []
        self._bytes = 2  # the list's brackets
        # +1 at each clear: pages of an older board are not sent any more.
        self.generation = 0

    @property
    def size(self) -> int:
        """Bytes of JSON of the whole board (what `list(board)` would serialise to, about)."""
        return self._bytes

    def append(self, entry: dict[str, Any]) -> None:
        size = _json_size(entry)
        self._recent.append((entry, size))
        self._bytes += size
        if len(self._recent) >= self._compact_every:
            self.compact()
        while self._bytes > self._max_bytes and (self._snapshot or self._recent):
            _dropped, dropped_size = self._snapshot.popleft() if self._snapshot else self._recent.pop(0)
            self._bytes -= dropped_size

    def compact(self) -> None:
        """Fold the strokes since the snapshot into it, merging segments of one stroke."""
        for entry, size in self._recent:
            last = self._snapshot[-1] if self._snapshot else None
            merged = _merge(last[0], entry) if last is not None else None
            if last is not None and merged is not None:
                merged_size = _json_size(merged)
                if merged_size <= MAX_STROKE:
                    self._snapshot[-1] = (merged, merged_size)
                    self._bytes += merged_size - last[1] - size
                    continue
            self._snapshot.append((entry, size))
        self._recent = []

    def clear(self) -> None:
        self._snapshot.clear()
        self._recent = []
        self._bytes = 2
        self.generation += 1

    def pages(self, page_bytes: int) -> list[list[dict[str, Any]]]:
        """The entries, oldest first, cut into lists of about `page_bytes` of JSON (at least one list)."""
        self.compact()
        pages: list[list[dict[str, Any]]] = [[]]
        used = 2
        for entry, size in self._entries():
            if pages[-1] and used + size > page_bytes:
                pages.append([])
                used = 2
            pages[-1].append(entry)
            used += size
        return pages

    def _entries(self) -> Iterator[tuple[dict[str, Any], int]]:
        yield from self._snapshot
        yield from self._recent

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (entry for entry, _size in self._entries())

    def __len__(self) -> int:
        return len(self._snapshot) + len(self._recent)


def _json_size(entry: dict[str, Any]) -> int:
    return len(json.dumps(entry)) + 1  # and its separator


def _merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any] | None:
    """One entry for two consecutive segments of the same stroke, or None when they are not."""
    a, b = first.get("stroke"), second.get("stroke")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return None
    if first.get("participant_id") != second.get("participant_id"):
        return None
    stroke_id = a.get("id")
    if not isinstance(stroke_id, str) or stroke_id != b.get("id") or set(a) != set(b):
        return None
    if any(a[key] != b[key] for key in a if key != "p"):
        return None
    points_a, points_b = a.get("p"), b.get("p")
    if not isinstance(points_a, list) or not isinstance(points_b, list) or not points_b:
        return None
    # The page repeats the previous segment's last point as the next one's first.
    tail = points_b[1:] if points_a and points_b[0] == points_a[-1] else points_b
    return {**first, "stroke": {**a, "p": points_a + tail}}


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z (what browsers' Date.parse reads the same everywhere)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None
