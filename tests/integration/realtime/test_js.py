"""web/static/realtime.js against the real hub, driven by Node (its built-in WebSocket).

The module runs unchanged; only `window` (location, sessionStorage) is provided, and the
socket factory adds the session cookie a browser would send.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from models.clock import ManualClock
from models.db import Database
from tests.integration.realtime.support import People, build_app
from web.realtime.bus import HistoryPolicy
from web.realtime.keys import BUS, HUB
from web.realtime.memory import InProcessBus

MODULE = Path(__file__).resolve().parents[3] / "web" / "static" / "realtime.js"

HARNESS = """
const [host, cookie, channel, moduleUrl] = process.argv.slice(2);
const store = new Map();
globalThis.window = {
  location: { protocol: 'http:', host },
  sessionStorage: { getItem: (k) => (store.has(k) ? store.get(k) : null), setItem: (k, v) => store.set(k, String(v)) },
};
const out = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
const { connectRealtime } = await import(moduleUrl);
const rt = connectRealtime({
  url: `ws://${host}/ws`,
  socketFactory: (url) => new WebSocket(url, { headers: { cookie } }),
  onStatus: (status) => out({ status }),
  onEvent: (e) => out({ kind: 'event', event: e.id, epoch: e.epoch }),
  onError: (error, ch) => out({ error, channel: ch }),
});
rt.subscribe(channel, { onReset: (ch) => out({ reset: ch }) });
// The first `subscribed` reply gives the channel a position: the stream starts there.
const waiting = setInterval(() => {
  if (rt.position(channel)) {
    clearInterval(waiting);
    out({ kind: 'subscribed' });
  }
}, 5);
"""


class Node:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []

    async def expect(self, **wanted: Any) -> dict[str, Any]:
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(10):
                while True:
                    line = await self.proc.stdout.readline()
                    assert line, f"node exited; saw {self.seen}"
                    message = json.loads(line)
                    self.seen.append(message)
                    if all(message.get(k) == v for k, v in wanted.items()):
                        return message
        except TimeoutError:
            raise AssertionError(f"waited for {wanted}; saw {self.seen}") from None


async def test_module_resumes_after_a_drop_and_resets_beyond_history(
    tmp_path: Path, db: Database, clock: ManualClock, people: People, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to run the browser module"
    app = build_app(db, clock, bus=InProcessBus(HistoryPolicy(history_size=10), clock))
    server: TestServer = await aiohttp_server(app)
    client = await aiohttp_client(server)
    await client.post("/test/login", json={"uid": people.mentor.id, "role": people.mentor.role})
    cookie = "; ".join(f"{c.key}={c.value}" for c in client.session.cookie_jar)
    channel = f"requests:{people.mentor.id}"
    harness = tmp_path / "harness.mjs"
    harness.write_text(HARNESS)
    proc = await asyncio.create_subprocess_exec(
        node,
        "--experimental-websocket",
        "--no-warnings",
        str(harness),
        f"{server.host}:{server.port}",
        cookie,
        channel,
        MODULE.as_uri(),
        stdout=asyncio.subprocess.PIPE,
    )
    js = Node(proc)
    try:
        await js.expect(status="connected")
        await js.expect(kind="subscribed")
        await app[BUS].publish(channel, "new_booking", {})
        await js.expect(event=1)

        # Drop every socket, publish while the tab is away: it resumes with `since`.
        await app[HUB].close()
        for _ in range(3):
            await app[BUS].publish(channel, "new_booking", {})
        await js.expect(status="reconnecting")
        await js.expect(status="connected")
        assert [(await js.expect(kind="event"))["event"] for _ in range(3)] == [2, 3, 4]

        # Away for longer than the history keeps: told to reload instead.
        await app[HUB].close()
        for _ in range(20):
            await app[BUS].publish(channel, "new_booking", {})
        await js.expect(status="connected")
        await js.expect(reset=channel)
        await app[BUS].publish(channel, "live_request", {})
        await js.expect(event=25)
        assert not any("error" in line for line in js.seen), js.seen
        assert not any(line.get("event") in (5, 24) for line in js.seen), "nothing replayed after a reset"
    finally:
        proc.kill()
        await proc.wait()
