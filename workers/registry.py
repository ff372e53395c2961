"""Which coroutine runs each kind of durable job.

Job bodies that change bookings or payments live beside the service they call (in `web`), which
registers them here; `workers` owns only the timers, the dispatcher and the runners.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]


class UnknownJobKind(LookupError):
    pass


class JobRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} registered twice")
        self._handlers[kind] = handler

    def get(self, kind: str) -> JobHandler:
        try:
            return self._handlers[kind]
        except KeyError:
            raise UnknownJobKind(kind) from None

    def kinds(self) -> list[str]:
        return sorted(self._handlers)
