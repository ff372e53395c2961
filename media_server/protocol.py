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
# Control characters other than tab and newlines are not text; PostgreSQL refuses NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse(raw: str | bytes, limit: int) -> dict[str, Any]:
    if len(raw) > limit:
        raise ProtocolError(f"message of {len(raw)} bytes exceeds {limit}", "too_large")
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("message is not JSON", "bad_json") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("message must be an object with a string 'type'")
    if message["type"] not in CLIENT_TYPES:
        raise ProtocolError(f"unknown message type {message['type']!r}", "unknown_type")
    return message


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
    if value not in SOURCES:
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
    if not isinstance(value, dict) or len(json.dumps(value)) > MAX_STROKE:
        raise ProtocolError(f"'stroke' must be an object of at most {MAX_STROKE} bytes")
    return {"stroke": value}
