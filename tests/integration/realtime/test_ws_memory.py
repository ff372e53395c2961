"""Issue 11's `/ws` amplification attack, measured: 40 signed-out sockets that never read, each sending
subscribes with 64 KiB channel names. Before the hardening every error reply quoted the whole name
into the socket's queue (575 MiB in 7.5 s); now the memory the server holds for them stays small.

Measured in-process with tracemalloc (the server's allocations; the attacker reuses one frame).
`bench/ws_attack.py` measures the same attack as the RSS of a real `mentorlive serve` process.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from typing import Any

from aiohttp.test_utils import TestServer

from bench.ws_attack import Attack
from models.clock import ManualClock
from models.db import Database
from tests.integration.realtime.support import build_app
from web.realtime.keys import HUB

SOCKETS = 40
FRAMES = 256
# What the attack may leave the server holding once the frames are processed, and at its peak (the
# reader's buffers of 40 sockets in flight). Before the hardening this test measured 522 MiB held.
HELD_BOUND = 16 * 1024 * 1024
PEAK_BOUND = 64 * 1024 * 1024


async def test_anonymous_sockets_that_never_read_cannot_make_the_server_hold_their_echoes(
    db: Database, clock: ManualClock, aiohttp_server: Any
) -> None:
    # The worst case: as if each socket came from its own address (one address gets 8, then 429).
    app = build_app(db, clock, max_anonymous_per_address=SOCKETS)
    server: TestServer = await aiohttp_server(app)
    attack = Attack()
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await attack.run(server.port or 0, SOCKETS, FRAMES, read=False)
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await attack.close()
    held_mib, peak_mib = (held - before) / 2**20, (peak - before) / 2**20
    print(
        f"\n/ws attack, {len(attack.writers)} sockets x {FRAMES} frames of 64 KiB: "
        f"held {held_mib:.1f} MiB, peak {peak_mib:.1f} MiB; queued {app[HUB].queued_bytes} bytes"
    )
    assert len(attack.writers) == SOCKETS and attack.refused == 0
    assert held - before < HELD_BOUND
    assert peak - before < PEAK_BOUND
    assert app[HUB].queued_bytes <= SOCKETS * app[HUB].settings.send_queue_bytes
    # The sockets were answered, not ignored: each holds replies the client never read.
    await asyncio.sleep(0)
