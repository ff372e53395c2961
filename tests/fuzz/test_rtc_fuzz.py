"""Fuzzing the /rtc signaling protocol: whatever a joined participant sends, the server answers with
a named error code (never `server_error`, never a traceback), quotes at most a short prefix, and the
room carries on. Every input that once failed is kept in tests/fuzz/corpus/rtc/ and replayed first.

The conversation is driven through `Session` (what the socket handler calls for each message) with a
real node, room and aiortc peer connection; only the socket is a recording stand-in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media_server import MediaNode, MediaSettings, sign_join_token
from media_server.protocol import CLIENT_TYPES, MAX_ECHO
from media_server.signaling import Session

CORPUS = Path(__file__).parent / "corpus" / "rtc"
SECRET = "fuzz-secret"
# An error reply: code, message (a short prefix at most), ref; a little slack for the JSON around it.
MAX_ERROR_BYTES = MAX_ECHO + 200


@dataclass
class RecordingChannel:
    sent: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def send(self, payload: dict[str, Any]) -> None:
        if not self.closed:
            self.sent.append(payload)

    def close(self, code: int = 1000) -> None:
        self.closed = True

    async def room_for_more(self) -> bool:
        return not self.closed


class Harness:
    """One node, one room with a mentor who stays, and a fuzzed learner (joined again when it leaves)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, tmp: Path) -> None:
        self.loop = loop
        # No rates: the fuzzer should reach the handlers, not the bucket.
        self.node = MediaNode(
            MediaSettings(ice_hosts=("127.0.0.1",), recordings_dir=tmp, rates={}, answer_timeout=3600), SECRET
        )
        self.count = 0
        self.mentor = self._join("mentor", "mentor")
        self.session, self.channel = self._join("fuzzer", "learner")

    def _join(self, user: str, role: str) -> tuple[Session, RecordingChannel]:
        self.count += 1
        token = sign_join_token(
            SECRET,
            user_id=user,
            name=user,
            role=role,
            room="fuzz",
            node="local",
            record=False,
            ttl_seconds=3600,
            now=datetime.now(UTC),
        )
        channel = RecordingChannel()
        session = Session(self.node, channel)  # type: ignore[arg-type]
        self.loop.run_until_complete(session.handle(json.dumps({"type": "join", "token": token})))
        assert session.participant is not None, channel.sent
        return session, channel

    def send(self, raw: str | bytes) -> list[dict[str, Any]]:
        if self.session.finished or "fuzz" not in self.node.rooms:
            if "fuzz" not in self.node.rooms:
                self.mentor = self._join("mentor", "mentor")
            self.session, self.channel = self._join("fuzzer", "learner")
        mark = len(self.channel.sent)
        self.loop.run_until_complete(self.session.handle(raw))
        return self.channel.sent[mark:]

    def close(self) -> None:
        self.loop.run_until_complete(self.node.close())


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    harness = Harness(loop, tmp_path_factory.mktemp("fuzz-recordings"))
    try:
        yield harness
    finally:
        harness.close()
        loop.close()


def check(replies: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    for reply in replies:
        if reply["type"] == "error":
            assert reply["code"] != "server_error", reply
            assert len(json.dumps(reply)) <= MAX_ERROR_BYTES, reply["code"]
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, failures[0].getMessage()


@pytest.mark.parametrize("path", sorted(CORPUS.iterdir()), ids=lambda p: p.name)
def test_the_corpus_of_inputs_that_once_failed_gets_named_errors(
    harness: Harness, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw: str | bytes = path.read_bytes() if path.suffix == ".bin" else path.read_text()
    replies = harness.send(raw)
    check(replies, caplog)
    assert replies, "each gets an answer"
    assert all(len(json.dumps(r)) <= MAX_ERROR_BYTES for r in replies if r["type"] in ("error", "pong")), (
        "nothing is echoed back whole"
    )


# -- generated inputs ----------------------------------------------------------------------------
def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    _containers,
    max_leaves=12,
)
FIELDS = [
    "text",
    "stroke",
    "clear",
    "source",
    "codec",
    "muted",
    "sdp",
    "candidate",
    "sdpMid",
    "sdpMLineIndex",
    "ts",
    "publish",
    "participant_id",
    "resume_key",
    "restart_media",
    "token",
]
# Leaving and ending are fine inputs too but end the conversation; the harness joins again after them.
TYPES = sorted(CLIENT_TYPES)
field_values = {
    "source": st.sampled_from(["camera", "microphone", "screen", "tv", ""]) | json_values,
    "codec": st.sampled_from(["VP8", "H264", "opus", "AV1"]) | json_values,
    "candidate": st.sampled_from(
        [
            "",
            "candidate:zzz",
            "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host",
            "candidate:1 1 udp x 1.2.3.4 5 typ host",
        ]
    )
    | st.text(max_size=80),
    "sdp": st.sampled_from(["v=0", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"]) | st.text(max_size=200),
}


@st.composite
def messages(draw: st.DrawFn) -> str:
    message: dict[str, Any] = {"type": draw(st.sampled_from(TYPES) | st.text(max_size=300))}
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        message[key] = draw(field_values.get(key, json_values))
    return json.dumps(message)


raw_inputs = (
    messages() | st.text(max_size=300) | st.builds(lambda depth: "[" * depth + "]" * depth, st.integers(0, 3000))
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=raw_inputs)
def test_generated_messages_get_named_errors_and_the_room_runs_on(
    harness: Harness, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    check(harness.send(raw), caplog)
    assert "fuzz" in harness.node.rooms or harness.session.finished
