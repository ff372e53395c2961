"""What the node reports to its owner (the web app turns these into rows and bus events)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ParticipantJoined:
    room: str
    participant_id: str
    user_id: str
    name: str
    role: str


@dataclass(frozen=True)
class ParticipantLeft:
    room: str
    participant_id: str
    user_id: str
    name: str
    role: str
    reason: str  # "left", "timeout", "replaced", "room_ended", "kicked"


@dataclass(frozen=True)
class QualityChanged:
    room: str
    participant_id: str
    user_id: str
    level: str  # excellent | good | poor | lost
    score: float
    reason: str


@dataclass(frozen=True)
class ActiveSpeakerChanged:
    """The room's active speaker changed (None: nobody is speaking); e.g. for recordings."""

    room: str
    participant_id: str | None
    user_id: str | None


@dataclass(frozen=True)
class RoomStarted:
    room: str
    user_id: str
    recording: bool


@dataclass(frozen=True)
class ChatPosted:
    """A chat line, for the web app to store (the node keeps only recent history)."""

    room: str
    message_id: int
    user_id: str
    name: str
    text: str
    ts: str


@dataclass(frozen=True)
class RecordedFile:
    path: Path
    user_id: str
    participant_id: str
    source: str  # camera | microphone | screen
    kind: str  # audio | video
    codec: str
    frames: int
    start_offset: float  # seconds from the start of the room's recording (its first frame)
    duration: float  # from its first frame to its last
    publication_id: str = ""
    window: int = 0  # the recording window (segment) this file belongs to
    # Pauses longer than a second between two frames (a reconnect, a muted sender), on the room's timeline.
    gaps: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class PresenceSpan:
    """Someone in a recorded room, from `joined` to `left` (None: still there), on the recording's timeline."""

    participant_id: str
    user_id: str
    name: str
    role: str
    joined: float
    left: float | None


@dataclass(frozen=True)
class RecordingSegment:
    """A finished window of a room's recording: its files are closed and complete.

    `run` names one recorder (a room reopened after it emptied records a new run); `start` and
    `end` are seconds on that run's timeline; the last window of a run is `final`.
    """

    room: str
    run: str
    index: int
    start: float
    end: float
    final: bool
    files: list[RecordedFile] = field(default_factory=list)
    presence: list[PresenceSpan] = field(default_factory=list)


@dataclass(frozen=True)
class RoomEnded:
    room: str
    reason: str  # "ended_by_host", "empty", "node_closed", or the reason given to MediaNode.end_room
    recordings: list[RecordedFile] = field(default_factory=list)
    # The whiteboard's strokes as they stood, oldest first, for the web app to store.
    whiteboard: list[dict[str, Any]] = field(default_factory=list)


NodeEvent = (
    ParticipantJoined | ParticipantLeft | QualityChanged | RoomStarted | RoomEnded | ChatPosted | ActiveSpeakerChanged
    | RecordingSegment
)
Listener = Callable[[NodeEvent], Awaitable[None] | None]
