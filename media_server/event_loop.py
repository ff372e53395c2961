"""The event loop a media process runs on: uvloop where installed, asyncio's otherwise.

`[media] event_loop` chooses ("uvloop" or "asyncio"); `mentorlive serve` (and any other
process that hosts a media node) builds its loop with `new_event_loop`. uvloop shortens the
loop's own share of each packet (the socket and timer plumbing); the tests run on asyncio's
loop, and one media test runs a real join on uvloop.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)
CHOICES = ("uvloop", "asyncio")


def new_event_loop(choice: str) -> asyncio.AbstractEventLoop:
    """A new loop of the chosen kind; asyncio's, with a warning, when uvloop is not installed."""
    if choice not in CHOICES:
        raise ValueError(f"[media] event_loop must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("[media] event_loop is uvloop but uvloop is not installed: using asyncio's loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_kind(loop: asyncio.AbstractEventLoop) -> str:
    """ "uvloop" or "asyncio": what a loop actually is (for logs and the benchmark table)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
