"""Signaling messages: parsing and field checks (shapes are documented in docs/signaling.md)."""

from __future__ import annotations

import json
import re
from typing import Any

from media_server.codecs import SOURCES, codec_for
from media_server.errors import ProtocolError

CLIENT_TYPES = frozenset(
    {
        "join", "resume", "offer", "answer", "candidate", "publish", "unpublish", "mute",
        "participants", "chat", "whiteboard", "start", "end", "leave", "ping",
    }
)
MAX_CHAT = 2000
MAX_STROKE = 16384
# Deeper JSON is no signaling message; Python's parser would hit its recursion limit near 1,000.
MAX_DEPTH = 32
# What an error reply may quote of a client's input (a type, a field): never the whole thing.
MAX_ECHO = 200
# WebSocket close codes (besides 1000/1009): a policy refusal (token), this participant continues
# on another socket, this reader fell too far behind its outgoing queue.
CLOSE_POLICY = 4001
CLOSE_REPLACED = 4002
CLOSE_TOO_SLOW = 4003
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
# Control characters other than tab and newlines are not text; PostgreSQL refuses NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _wire_size(char: str) -> int:
    """How many characters `char` takes in JSON as the server sends it (ASCII-escaped)."""
    return 1 if " " <= char <= "~" and char not in '"\\' else len(json.dumps(char)) - 2


def short(value: object, limit: int = MAX_ECHO) -> str:
    """A client's input cut to at most `limit` characters as they go out in JSON, for an error reply
    or a log line. Counted escaped: outside ASCII a character takes up to 12 (an emoji is a
    surrogate pair), so 40 emoji would be 480 bytes on the wire."""
    text_value = value if isinstance(value, str) else repr(value)
    size, cut = 0, 0
    for i, char in enumerate(text_value):
        size += _wire_size(char)
        if size <= limit - 6:  # what fits beside the ellipsis (6 escaped)
            cut = i + 1
        elif size > limit:
            return text_value[:cut] + "\u2026"
    return text_value


def too_deep(raw: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than `max_depth` (checked before parsing)."""
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", raw)):
        depth += 1 if bracket in "[{" else -1
        if depth > max_depth:
            return True
    return False


def parse(raw: str | bytes, limit: int) -> dict[str, Any]:
    if len(raw) > limit:
        raise ProtocolError(f"message of {len(raw)} bytes exceeds {limit}", "too_large")
    try:
        decoded = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ProtocolError("message is not UTF-8 JSON", "bad_json") from exc
    if too_deep(decoded):
        raise ProtocolError(f"message nests deeper than {MAX_DEPTH} levels", "bad_json")
    try:
        message = json.loads(decoded)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("message is not JSON", "bad_json") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("message must be an object with a string 'type'")
    if message["type"] not in CLIENT_TYPES:
        raise ProtocolError(f"unknown message type {short(message['type'], 40)!r}", "unknown_type")
    return message


def ref(kind: object) -> str:
    """The `ref` of an error reply: the type of the message that caused it, if it is one of ours."""
    return kind if isinstance(kind, str) and kind in CLIENT_TYPES else "?"


def token(message: dict[str, Any]) -> str:
    """The join token a `join` or `resume` carries (the first message on every socket)."""
    value = message.get("token")
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise ProtocolError("the first message must carry the join token ('token')", "bad_token")
    return value


def timestamp(message: dict[str, Any]) -> float | None:
    """A ping's `ts`: echoed only when it is a number (anything else would be an echo channel)."""
    value = message.get("ts")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def text(message: dict[str, Any], key: str, max_len: int, *, required: bool = True) -> str | None:
    value = message.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value) or len(value) > max_len:
        raise ProtocolError(f"'{key}' must be a non-empty string of at most {max_len} characters")
    return value


def chat_text(message: dict[str, Any]) -> str:
    """A chat line: text that can be stored with the session (one that cannot would block the archive)."""
    value = text(message, "text", MAX_CHAT) or ""
    try:
        # A lone surrogate (JSON "\ud800") is valid JSON but no text a database can store.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError("'text' contains characters that are not text") from None
    if _CONTROL.search(value):
        raise ProtocolError("'text' contains control characters")
    return value


def source(message: dict[str, Any]) -> str:
    value = message.get("source")
    if not isinstance(value, str) or value not in SOURCES:
        raise ProtocolError(f"'source' must be one of {sorted(SOURCES)}")
    return str(value)


def flag(message: dict[str, Any], key: str) -> bool:
    value = message.get(key)
    if not isinstance(value, bool):
        raise ProtocolError(f"'{key}' must be true or false")
    return value


def publish_list(message: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The `publish` field of join: ["camera", {"source": "screen", "codec": "H264"}, ...]."""
    items = message.get("publish", [])
    if not isinstance(items, list) or len(items) > len(SOURCES):
        raise ProtocolError("'publish' must be a list of sources")
    out: list[tuple[str, str | None]] = []
    for item in items:
        if isinstance(item, str):
            item = {"source": item}
        if not isinstance(item, dict):
            raise ProtocolError("'publish' entries must be a source or {source, codec}")
        out.append((source(item), text(item, "codec", 16, required=False)))
    if len({s for s, _ in out}) != len(out):
        raise ProtocolError("a source is listed twice in 'publish'")
    for name, codec in out:
        try:
            codec_for(name, codec)
        except ValueError as exc:
            raise ProtocolError(str(exc), "bad_codec") from exc
    return out


def stroke(message: dict[str, Any]) -> dict[str, Any]:
    """A whiteboard message: {stroke: {...}} (opaque to us, size-capped) or {clear: true}."""
    if message.get("clear") is True:
        return {"clear": True}
    value = message.get("stroke")
    if not isinstance(value, dict):
        raise ProtocolError(f"'stroke' must be an object of at most {MAX_STROKE} bytes")
    try:
        # A lone surrogate is valid JSON but no text: the board is stored with the session.
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    except UnicodeEncodeError:
        raise ProtocolError("'stroke' contains characters that are not text") from None
    if size > MAX_STROKE:
        raise ProtocolError(f"'stroke' must be an object of at most {MAX_STROKE} bytes")
    return {"stroke": value}
