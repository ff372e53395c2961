"""Node events cross processes as JSON and come back equal; the node's outbox stays within its bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_server import event_codec
from media_server.agent import EventOutbox
from media_server.events import (
    ActiveSpeakerChanged,
    ChatPosted,
    NodeEvent,
    ParticipantJoined,
    ParticipantLeft,
    PresenceSpan,
    QualityChanged,
    RecordedFile,
    RecordingSegment,
    RoomEnded,
    RoomStarted,
)

FILE = RecordedFile(path=Path("/rec/r1/a.webm"), user_id="7", participant_id="p1", source="camera", kind="video",
                    codec="VP8", frames=300, start_offset=1.5, duration=10.0, publication_id="pub", window=2,
                    gaps=((3.0, 4.5),))
EVENTS: list[NodeEvent] = [
    ParticipantJoined("r1", "p1", "7", "Maya", "mentor"),
    ParticipantLeft("r1", "p1", "7", "Maya", "mentor", "left"),
    QualityChanged("r1", "p1", "7", "good", 81.5, "loss"),
    ActiveSpeakerChanged("r1", None, None),
    RoomStarted("r1", "7", True),
    ChatPosted("r1", 3, "7", "Maya", "héllo ✓", "2030-01-01T10:00:00+00:00"),
    RecordingSegment("r1", "run1", 2, 60.0, 90.0, False, [FILE],
                     [PresenceSpan("p1", "7", "Maya", "mentor", 0.0, None)]),
    RoomEnded("r1", "ended_by_host", [FILE], [{"points": [[1, 2]], "color": "#fff"}, {"clear": True}]),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_round_trip(event: NodeEvent) -> None:
    back = event_codec.decode(event_codec.encode(event))
    assert back == event
    assert type(back) is type(event)


def test_unknown_or_broken_text_is_refused() -> None:
    for text in ('{"type":"Nope","data":{}}', "not json", '{"type":"ChatPosted"}', "[]"):
        with pytest.raises(ValueError):
            event_codec.decode(text)


def test_outbox_keeps_the_newest_within_its_bytes() -> None:
    outbox = EventOutbox(max_bytes=100)
    for i in range(30):
        outbox.add(f"event-{i:03d}")  # 9 bytes each
    assert outbox.bytes <= 100
    assert len(outbox) == 11 and outbox.dropped == 19
    assert outbox.peek(1) == ["event-019"]
    outbox.pop(11)
    assert len(outbox) == 0 and outbox.bytes == 0
