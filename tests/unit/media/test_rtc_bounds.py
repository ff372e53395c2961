"""Pure parts of /rtc hardening: rates, used tokens, the paged compacted whiteboard, the parser's caps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from media_server.errors import ProtocolError
from media_server.protocol import MAX_ECHO, parse, short
from media_server.rates import MessageRates, Rate
from media_server.room import Whiteboard
from media_server.tokens import UsedTokens


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    rates = MessageRates({"chat": Rate(2.0, 5)}, clock)
    assert [rates.allow("chat") for _ in range(7)] == [True] * 5 + [False] * 2
    clock.now = 1.0
    assert [rates.allow("chat") for _ in range(3)] == [True, True, False]
    assert all(rates.allow("mute") for _ in range(100)), "kinds without a rate are not limited"


def test_a_join_token_is_good_once_and_memory_stays_bounded() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    used = UsedTokens(capacity=100)
    assert used.claim("token-a", now + timedelta(minutes=5), now)
    assert not used.claim("token-a", now + timedelta(minutes=5), now)
    for i in range(1000):
        used.claim(f"t{i}", now + timedelta(minutes=5), now)
    assert len(used) <= 100
    # Expired entries are forgotten as new tokens arrive.
    later = now + timedelta(minutes=6)
    used.claim("fresh", later + timedelta(minutes=5), later)
    assert len(used) == 1


def test_the_parser_refuses_deep_json_and_quotes_no_more_than_a_prefix() -> None:
    with pytest.raises(ProtocolError) as deep:
        parse("[" * 50_000 + "]" * 50_000, 1_000_000)
    assert deep.value.code == "bad_json"
    with pytest.raises(ProtocolError) as unknown:
        parse(json.dumps({"type": "x" * 250_000}), 1_000_000)
    assert unknown.value.code == "unknown_type" and len(str(unknown.value)) <= MAX_ECHO
    # Brackets inside strings are text, not depth.
    assert parse(json.dumps({"type": "chat", "text": "[" * 5000}), 1_000_000)["text"] == "[" * 5000
    assert len(json.dumps(short("y" * 10_000))) - 2 <= MAX_ECHO and short("y" * 10_000).startswith("y" * 190)
    # Counted as sent: an emoji is 12 characters of JSON, a quote 2.
    assert len(json.dumps(short("\U0001d494" * 100))) - 2 <= MAX_ECHO
    assert len(json.dumps(short('"' * 1000))) - 2 <= MAX_ECHO
    assert short("a short type") == "a short type"


def _segment(i: int, stroke_id: str = "s1") -> dict:
    return {
        "participant_id": "p1",
        "stroke": {"id": stroke_id, "c": "#000", "w": 0.004, "p": [[i / 1000, 0.5], [(i + 1) / 1000, 0.5]]},
    }


def test_the_whiteboard_merges_segments_of_a_stroke_and_keeps_every_point() -> None:
    board = Whiteboard(1_048_576, compact_every=64)
    for i in range(1000):
        board.append(_segment(i))
    board.append({"participant_id": "p2", "stroke": {"opaque": True}})
    entries = [e for page in board.pages(65_536) for e in page]
    assert entries == list(board)
    assert len(entries) < 20
    points = [p for e in entries if "id" in e["stroke"] for p in e["stroke"]["p"]]
    assert points[0] == [0.0, 0.5] and points[-1] == [1.0, 0.5]
    assert entries[-1]["stroke"] == {"opaque": True}
    assert abs(board.size - (len(json.dumps(entries)) + 1)) < 100, "the byte count follows the compaction"


def test_the_whiteboard_stays_within_its_bytes_and_pages_are_small() -> None:
    board = Whiteboard(200_000)
    big = {"participant_id": "p1", "stroke": {"p": [[0.5, 0.5]] * 1300}}
    for _ in range(300):
        board.append(big)
    assert len(json.dumps(list(board))) <= 200_000
    pages = board.pages(65_536)
    assert len(pages) > 1 and all(len(json.dumps(page)) <= 65_536 + 20_000 for page in pages)
    assert [e for page in pages for e in page] == list(board)
    board.clear()
    assert board.pages(65_536) == [[]] and board.generation == 1
