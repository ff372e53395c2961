"""A loop around a read that swallows cancellation (redis-py 8.2 does, when a cancel meets a finished
blocking XREADGROUP) still ends when its task is cancelled, so a shutdown awaiting it does not hang."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from media_server.cancellation import raise_if_cancelling


@dataclass
class SwallowingReader:
    swallow: bool = True
    reads: int = 0

    async def read(self) -> None:
        self.reads += 1
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if not self.swallow:
                raise
            # The library returned the read's empty answer instead.


async def guarded_loop(reader: SwallowingReader) -> None:
    while True:
        raise_if_cancelling()
        await reader.read()


async def unguarded_loop(reader: SwallowingReader) -> None:
    while True:
        await reader.read()


async def test_a_guarded_loop_ends_cancelled_after_the_read_swallowed_the_cancel() -> None:
    reader = SwallowingReader()
    task = asyncio.create_task(guarded_loop(reader))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert task.cancelled()
    assert reader.reads == 1


async def test_without_the_guard_the_same_loop_outlives_its_cancel() -> None:
    reader = SwallowingReader()
    task = asyncio.create_task(unguarded_loop(reader))
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done, "the swallowed cancel left the loop reading"
    assert reader.reads == 2
    reader.swallow = False
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

