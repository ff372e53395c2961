"""A loop's guard against a cancellation that a library swallowed.

redis-py (8.2 measured) can lose a `Task.cancel()` that lands as a blocking read (XREADGROUP ... BLOCK)
finishes: the command returns normally, the task stays *cancelling*, and a `while True` loop around the
read goes on forever, so whoever awaits the cancelled task (a shutdown, a test) hangs. Every loop that
calls Redis checks `raise_if_cancelling()` once per turn: cheap, and the task still ends as cancelled.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise CancelledError when this task was asked to stop and the request did not reach it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
