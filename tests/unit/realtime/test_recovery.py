"""The recovery rule both buses share, and the channel names the hub accepts."""

from __future__ import annotations

import json

import pytest

from web.realtime.bus import HistoryPolicy, decide_recovery
from web.realtime.channels import ChannelName, parse_channel
from web.realtime.envelope import Envelope, Position

NOW = 1_000_000_000
POLICY = HistoryPolicy(history_size=10, history_ttl_seconds=60, max_replay=8)


def kept(first: int, last: int, ts: int = NOW) -> list[Envelope]:
    return [Envelope("c", "e", {}, n, ts, "ep") for n in range(first, last + 1)]


@pytest.mark.parametrize(
    ("case", "since", "epoch", "position", "after", "expected_ids"),
    [
        ("in history", 15, "ep", Position("ep", 20), kept(16, 20), [16, 17, 18, 19, 20]),
        ("nothing missed", 20, "ep", Position("ep", 20), [], []),
        ("evicted by size: history 10, 20 published, resume from 8", 8, "ep", Position("ep", 20), kept(9, 20), None),
        ("evicted from the store", 12, "ep", Position("ep", 20), kept(15, 20), None),
        ("expired by age", 15, "ep", Position("ep", 20), kept(16, 20, ts=NOW - 61_000), None),
        ("epoch mismatch", 15, "other", Position("ep", 20), kept(16, 20), None),
        ("too many to replay", 11, "ep", Position("ep", 20), kept(12, 20), None),
        ("ahead of the stream", 25, "ep", Position("ep", 20), [], None),
    ],
)
def test_recovery_table(
    case: str, since: int, epoch: str, position: Position, after: list[Envelope], expected_ids: list[int] | None
) -> None:
    recovered, replay = decide_recovery(since, epoch, position, after, POLICY, NOW)
    if expected_ids is None:
        assert (recovered, replay) == (False, []), case
    else:
        assert recovered, case
        assert [env.id for env in replay] == expected_ids, case


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("requests:12", ChannelName("requests", "12")),
        ("responses:3", ChannelName("responses", "3")),
        ("notifications:9", ChannelName("notifications", "9")),
        ("sessions:41", ChannelName("sessions", "41")),
        ("sessions:room-abc_1", ChannelName("sessions", "room-abc_1")),
        ("requests:abc", None),
        ("sessions:", None),
        ("sessions:a b", None),
        ("chat:1", None),
        ("notifications", None),
    ],
)
def test_parse_channel(channel: str, expected: ChannelName | None) -> None:
    assert parse_channel(channel) == expected


def test_event_message_is_the_envelope_with_a_type() -> None:
    envelope = Envelope("sessions:r", "quality", {"level": "good"}, 3, NOW, "ep")
    assert json.loads(envelope.event_message()) == {"type": "event", **envelope.as_dict()}
    assert Envelope.from_dict(envelope.as_dict()) == envelope
