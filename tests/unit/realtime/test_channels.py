"""Channel names: one spelling per channel, so no second name reaches the same feed."""

from __future__ import annotations

import pytest

from web.realtime.channels import (
    notifications_channel,
    parse_channel,
    room_channel,
    session_channel,
)


@pytest.mark.parametrize(
    "name",
    [
        "notifications:05",
        "notifications:007",
        "requests:01",
        "responses:00",
        "sessions:012",
        "notifications:٥",
        "notifications:²",
        "notifications:+5",
        "notifications: 5",
        "notifications:5 ",
        "notifications:1234567890123456789",
    ],
)
def test_non_canonical_ids_are_not_channels(name: str) -> None:
    assert parse_channel(name) is None


@pytest.mark.parametrize(
    "name",
    [
        notifications_channel(5),
        notifications_channel(0),
        session_channel(12),
        room_channel("room-abc"),
        "requests:7",
        "responses:123456789012345678",
    ],
)
def test_canonical_names_round_trip(name: str) -> None:
    parsed = parse_channel(name)
    assert parsed is not None
    assert f"{parsed.kind}:{parsed.key}" == name
    if parsed.numeric_key is not None:
        assert f"{parsed.kind}:{parsed.numeric_key}" == name
