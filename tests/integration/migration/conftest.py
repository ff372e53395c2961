"""Two media nodes in this process, each its own aiohttp app on a loopback port, and a Placement naming the other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from media_server import MediaSettings
from media_server.testing.client import SfuClient
from media_server.testing.nodes import OtherNode, RunningNode, start_node, token
from media_server.testing.synthetic import encode_opus_clip, encode_vp8_clip
from tests.integration.sfu.conftest import Clips

SECRET = "migration-test-secret"


@dataclass
class Cluster:
    a: RunningNode
    b: RunningNode
    placement: OtherNode
    clients: list[SfuClient] = field(default_factory=list)

    def client(self, node: RunningNode, user: str, **kw: Any) -> SfuClient:
        token_kw = {k: kw.pop(k) for k in ("role", "room", "record") if k in kw}
        client = SfuClient(node.url, token(SECRET, node, user, **token_kw), **kw)
        self.clients.append(client)
        return client


@pytest.fixture(scope="session")
def clips() -> Clips:
    return Clips(encode_vp8_clip(90), encode_opus_clip(100))


@pytest.fixture
def node_settings(tmp_path: Path) -> MediaSettings:
    return MediaSettings(
        ice_hosts=("127.0.0.1",),
        recordings_dir=tmp_path / "recordings",
        quality_interval=0.5,
        resume_grace=3.0,
        recording_segment_seconds=2.0,
        recording_segment_grace=0.5,
    )


@pytest.fixture
async def cluster(node_settings: MediaSettings) -> AsyncIterator[Cluster]:
    a = await start_node("node-a", SECRET, node_settings)
    b = await start_node("node-b", SECRET, node_settings)
    cluster = Cluster(a, b, OtherNode([a, b]))
    try:
        yield cluster
    finally:
        for client in cluster.clients:
            await client.close()
        await a.stop()
        await b.stop()
