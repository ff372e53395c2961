"""The one shape every realtime event has on the wire (ARCHITECTURE §6)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Envelope:
    """One publication on one channel.

    `id` grows by one per publication on `channel`; it only means something together
    with `epoch`, which changes whenever the kept history of the channel is lost.
    `ts` is milliseconds since the Unix epoch, read from the bus's injectable clock.
    """

    channel: str
    event: str
    data: dict[str, Any]
    id: int
    ts: int
    epoch: str
    # Serialized once per publication and shared by every socket that receives it.
    _json: str | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "event": self.event,
            "data": self.data,
            "id": self.id,
            "ts": self.ts,
            "epoch": self.epoch,
        }

    def event_message(self) -> str:
        """The server→client `{"type": "event", ...envelope}` text frame."""
        cached = self._json
        if cached is None:
            cached = json.dumps({"type": "event", **self.as_dict()}, separators=(",", ":"))
            object.__setattr__(self, "_json", cached)
        return cached

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Envelope:
        return cls(
            channel=str(raw["channel"]),
            event=str(raw["event"]),
            data=dict(raw["data"]),
            id=int(raw["id"]),
            ts=int(raw["ts"]),
            epoch=str(raw["epoch"]),
        )


class Position(NamedTuple):
    """Where a channel's stream stands: its epoch and the id of its newest publication (0: none)."""

    epoch: str
    id: int


class Recovery(NamedTuple):
    """The answer to a resume: `recovered` is False when the missed publications cannot be replayed."""

    recovered: bool
    publications: list[Envelope]


def millis(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)
