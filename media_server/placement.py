from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class NodePlacement:
    node_id: str
    url: str


class Placement(Protocol):
    async def place(self, room_code: str, exclude: str | None = None) -> NodePlacement: ...
