"""Media nodes in one process, each its own aiohttp app on a loopback port (tests, bench/scale).

Each app carries only what a media node serves: `/rtc` and the room handover endpoint. `OtherNode`
stands in for the registry (a `Placement` answering the first node not excluded); `token()` mints
join tokens as the web app does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from media_server.migration import handle_import
from media_server.node import MediaNode
from media_server.placement import NodePlacement
from media_server.settings import MediaSettings
from media_server.signaling import handle_rtc
from media_server.tokens import sign_join_token


@dataclass
class RunningNode:
    node_id: str
    url: str
    node: MediaNode
    server: TestServer
    events: list[Any] = field(default_factory=list)
    killed: bool = False

    @property
    def placement(self) -> NodePlacement:
        return NodePlacement(self.node_id, self.url)

    async def kill(self) -> None:
        """A crash as clients see it: the sockets and peer connections go away without a word."""
        self.killed = True
        for room in list(self.node.rooms.values()):
            for participant in list(room.participants.values()):
                participant.channel = None  # nothing reaches the clients: no `end`, no `error`
        # Cut every connection at once (a graceful close would wait for the sockets' handlers).
        runner = self.server.runner
        handler = runner.server if runner is not None else None
        for connection in list(getattr(handler, "connections", [])):
            transport = connection.transport
            if transport is not None:
                transport.abort()
        await self.server.close()
        await self.node.close()

    async def stop(self) -> None:
        if not self.killed:
            await self.server.close()
            await self.node.close()


class OtherNode:
    """A Placement over a fixed set of nodes: the first one that is not excluded, closed or draining."""

    def __init__(self, nodes: list[RunningNode]) -> None:
        self.nodes = nodes
        self.asked: list[tuple[str, str | None]] = []

    async def place(self, room_code: str, exclude: str | None = None) -> NodePlacement:
        self.asked.append((room_code, exclude))
        for running in self.nodes:
            if running.node_id != exclude and not running.node.closed and not running.node.draining:
                return running.placement
        raise LookupError("no node to place the room on")


async def start_node(node_id: str, secret: str, settings: MediaSettings) -> RunningNode:
    node = MediaNode(dataclasses.replace(settings, node_id=node_id), secret)
    await node.start()
    app = web.Application()

    async def rtc(request: web.Request) -> web.StreamResponse:
        return await handle_rtc(node, request)

    async def handover(request: web.Request) -> web.StreamResponse:
        return await handle_import(node, request)

    app.router.add_get("/rtc", rtc)
    app.router.add_post("/rtc/internal/rooms/{code}", handover)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    running = RunningNode(node_id, str(server.make_url("/rtc")), node, server)
    node.add_listener(running.events.append)
    return running


def token(
    secret: str,
    target: RunningNode,
    user: str,
    *,
    role: str = "learner",
    room: str = "room1",
    record: bool = False,
    ttl: int = 300,
) -> str:
    return sign_join_token(
        secret,
        user_id=user,
        name=f"User {user}",
        role=role,
        room=room,
        node=target.node_id,
        record=record,
        ttl_seconds=ttl,
        now=datetime.now(UTC),
        url=target.url,
    )


def recordings_of(root: Path) -> list[Path]:
    return sorted(root.rglob("*.webm"))
