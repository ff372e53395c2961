"""Which coroutine runs each kind of durable job.

Job bodies that change bookings or payments live beside the service they call (in `web`), which
registers them here; `workers` owns only the timers, the dispatcher and the runners.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]
# Called once a job of its kind has failed for the last time: (the job's args, its last error).
GiveUpHandler = Callable[[dict[str, Any], str], Awaitable[None]]


class UnknownJobKind(LookupError):
    pass


class JobRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}
        self._give_up: dict[str, GiveUpHandler] = {}
        self._in_process: set[str] = set()

    def register(self, kind: str, handler: JobHandler, *, on_give_up: GiveUpHandler | None = None,
                 in_process: bool = False) -> None:
        """`on_give_up` is how a kind whose failure must not go unnoticed (a refund) surfaces it.

        `in_process` keeps the kind in the serving process even when a broker is configured: its
        handler reads state only that process holds (the media rooms it hosts).
        """
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} registered twice")
        self._handlers[kind] = handler
        if on_give_up is not None:
            self._give_up[kind] = on_give_up
        if in_process:
            self._in_process.add(kind)

    def runs_in_process(self, kind: str) -> bool:
        return kind in self._in_process

    def give_up_handler(self, kind: str) -> GiveUpHandler | None:
        return self._give_up.get(kind)

    def get(self, kind: str) -> JobHandler:
        try:
            return self._handlers[kind]
        except KeyError:
            raise UnknownJobKind(kind) from None

    def kinds(self) -> list[str]:
        return sorted(self._handlers)
