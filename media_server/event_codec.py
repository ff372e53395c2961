"""Node events as JSON, for a media node in another process than the web app (the `events` stream).

`encode` gives a JSON text naming the event's type; `decode` gives the same frozen dataclass back
(paths as `Path`, tuples as tuples), or raises ValueError for anything it does not know.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from media_server import events

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (events.ParticipantJoined, events.ParticipantLeft, events.QualityChanged, events.ActiveSpeakerChanged,
                events.RoomStarted, events.ChatPosted, events.RecordingSegment, events.RoomEnded)
}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def encode(event: events.NodeEvent) -> str:
    return json.dumps({"type": type(event).__name__, "data": _plain(event)}, separators=(",", ":"))


def decode(text: str | bytes) -> events.NodeEvent:
    try:
        raw = json.loads(text)
        cls = _TYPES[raw["type"]]
        event: events.NodeEvent = _build(cls, raw["data"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a node event: {exc}") from exc
    return event


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls, vars(events))
    kwargs = {f.name: _typed(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}
    return cls(**kwargs)


def _typed(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is Path:
        return Path(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_typed(item, v) for v in value]
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(args[0], v) for v in value)
        return tuple(_typed(a, v) for a, v in zip(args, value, strict=True))
    if origin in (typing.Union, types.UnionType):
        return value  # `str | None` and the like: JSON already has the right value
    return value
