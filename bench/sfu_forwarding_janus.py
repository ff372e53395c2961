"""Janus (Debian's package, VideoRoom only) as the benchmark's baseline SFU.

Process side (the orchestrator, root): install the package when `janus` is missing
(`apt-get install --no-install-recommends janus`, printed before it runs), write a private
configuration folder (VideoRoom plugin and WebSockets transport only, no STUN, media
candidates only on the namespace's test address, since Janus never offers loopback), and
start `janus -F folder` inside the benchmark's network namespace.

Load side (the load process): `JanusSession` speaks the VideoRoom API over Janus's
WebSocket transport: create a session, one handle per participant, `create` a room,
`joinandconfigure` a publisher with its offer, `join` a subscriber (Janus makes the offer)
and `start` it with the answer. Keepalives every 20 s.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
KEEPALIVE_SECONDS = 20.0


def ensure_installed() -> str:
    """The janus binary, installing Debian's package first when it is missing (root only)."""
    found = shutil.which("janus")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("janus is not installed and installing it needs root: run the benchmark as root")
    command = ["apt-get", "install", "-y", "--no-install-recommends", "janus"]
    print(f"janus is not installed: running `{' '.join(command)}` (Debian's package; it starts no daemon)", flush=True)
    environment = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(command, check=True, env=environment)
    found = shutil.which("janus")
    if not found:
        raise RuntimeError("apt-get installed janus but no `janus` binary is on PATH")
    return found


def library_folder() -> Path:
    if (LIB / "plugins" / "libjanus_videoroom.so").exists():
        return LIB
    hits = list(Path("/usr/lib").glob("*/janus/plugins/libjanus_videoroom.so"))
    if not hits:
        raise RuntimeError("Janus's VideoRoom plugin (libjanus_videoroom.so) was not found under /usr/lib")
    return hits[0].parent.parent


def others(folder: Path, keep: str) -> str:
    return ",".join(sorted(p.name for p in folder.glob("libjanus_*.so") if p.name != keep))


def write_config(
    folder: Path, *, ws_port: int, media_address: str, rtp_ports: tuple[int, int], lib: Path | None = None
) -> Path:
    """A private configuration folder: only what this benchmark needs, nothing reaching out.

    `lib` is Janus's library folder (plugins/, transports/, ...): the installed one by default."""
    lib = lib or library_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "janus.jcfg").write_text(f"""general: {{
	configs_folder = "{folder}"
	plugins_folder = "{lib / "plugins"}"
	transports_folder = "{lib / "transports"}"
	events_folder = "{lib / "events"}"
	loggers_folder = "{lib / "loggers"}"
	debug_level = 4
	session_timeout = 120
	admin_secret = "bench-not-used"
	protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/root", "/sys", "/usr", "/var"]
}}
certificates: {{
}}
media: {{
	rtp_port_range = "{rtp_ports[0]}-{rtp_ports[1]}"
}}
nat: {{
	nice_debug = false
	ice_enforce_list = "{media_address}"
	ignore_mdns = true
}}
plugins: {{
	disable = "{others(lib / "plugins", "libjanus_videoroom.so")}"
}}
transports: {{
	disable = "{others(lib / "transports", "libjanus_websockets.so")}"
}}
loggers: {{
	disable = "{others(lib / "loggers", "")}"
}}
events: {{
	broadcast = false
}}
""")
    (folder / "janus.transport.websockets.jcfg").write_text(f"""general: {{
	json = "plain"
	ws = true
	ws_port = {ws_port}
	ws_ip = "127.0.0.1"
	wss = false
}}
admin: {{
	admin_ws = false
	admin_wss = false
}}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return folder


class JanusError(RuntimeError):
    pass


class JanusSession:
    """One Janus session over one WebSocket; handles attach to the VideoRoom plugin."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session_id: int | None = None
        self._ids = itertools.count(1)
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.url, protocols=("janus-protocol",), max_msg_size=0)
        self._tasks.append(asyncio.create_task(self._read()))
        reply = await self.request({"janus": "create"})
        self.session_id = int(reply["data"]["id"])
        self._tasks.append(asyncio.create_task(self._keepalive()))

    async def close(self) -> None:
        if self._ws is not None and self.session_id is not None and not self._ws.closed:
            try:
                await asyncio.wait_for(self.request({"janus": "destroy"}), 5)
            except (JanusError, TimeoutError):
                pass
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            kind = message.get("janus")
            transaction = message.get("transaction")
            if kind == "ack" and message.get("hint") is None and transaction in self._replies:
                # An asynchronous request: the answer comes later as an event on the handle.
                continue
            if kind in ("success", "error") and transaction in self._replies:
                self._replies.pop(transaction).set_result(message)
            elif kind == "event" and "sender" in message:
                self._events.setdefault(int(message["sender"]), asyncio.Queue()).put_nowait(message)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            await self._send({"janus": "keepalive"})

    async def _send(self, payload: dict[str, Any]) -> str:
        assert self._ws is not None
        transaction = f"t{next(self._ids)}"
        payload = {**payload, "transaction": transaction}
        if self.session_id is not None:
            payload["session_id"] = self.session_id
        await self._ws.send_str(json.dumps(payload))
        return transaction

    async def request(self, payload: dict[str, Any], within: float = 30.0) -> dict[str, Any]:
        """A synchronous request: its success (or error) reply."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        transaction = f"t{next(self._ids)}"
        self._replies[transaction] = future
        assert self._ws is not None
        payload = {**payload, "transaction": transaction}
        if self.session_id is not None:
            payload["session_id"] = self.session_id
        await self._ws.send_str(json.dumps(payload))
        reply = await asyncio.wait_for(future, within)
        if reply["janus"] == "error":
            raise JanusError(str(reply.get("error")))
        return reply

    async def attach(self) -> int:
        reply = await self.request({"janus": "attach", "plugin": "janus.plugin.videoroom"})
        handle = int(reply["data"]["id"])
        self._events.setdefault(handle, asyncio.Queue())
        return handle

    async def message(self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> None:
        payload: dict[str, Any] = {"janus": "message", "handle_id": handle, "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        await self._send(payload)

    async def plugin_request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous VideoRoom request (create, ...): its plugin data."""
        reply = await self.request({"janus": "message", "handle_id": handle, "body": body})
        data: dict[str, Any] = reply["plugindata"]["data"]
        if "error" in data:
            raise JanusError(str(data["error"]))
        return data

    async def event(self, handle: int, within: float = 30.0) -> dict[str, Any]:
        """The next asynchronous event on `handle` (its plugin data and jsep, if any)."""
        message = await asyncio.wait_for(self._events[handle].get(), within)
        data = message.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(str(data["error"]))
        return message

    async def trickle_done(self, handle: int) -> None:
        # aiortc puts every candidate in the SDP: tell Janus there are no more.
        await self._send({"janus": "trickle", "handle_id": handle, "candidate": {"completed": True}})
