"""SFU tests: the /rtc endpoint on a bare aiohttp app, real aiortc peers, synthetic media."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from media_server import MediaNode, MediaSettings, sign_join_token
from media_server.testing.client import SfuClient
from media_server.testing.codec_audit import CodecCounter, count_codec_use
from media_server.testing.synthetic import ClipTrack, encode_opus_clip, encode_vp8_clip
from web import keys
from web.config import load_config
from web.room.keys import MEDIA_NODE
from web.room.sfu import setup_rtc

SECRET = "sfu-test-secret"


@dataclass
class Clips:
    vp8: list[bytes]
    opus: list[bytes]

    def camera(self, limit: int | None = None) -> ClipTrack:
        return ClipTrack("video", self.vp8, fps=30, clock_rate=90000, limit=limit)

    def microphone(self, limit: int | None = None) -> ClipTrack:
        return ClipTrack("audio", self.opus, fps=50, clock_rate=48000, limit=limit)


@pytest.fixture(scope="session")
def clips() -> Clips:
    return Clips(encode_vp8_clip(90), encode_opus_clip(100))


@pytest.fixture
def codec_counter() -> Iterator[CodecCounter]:
    with count_codec_use() as counter:
        yield counter


@pytest.fixture
def sfu_settings(tmp_path: Path) -> MediaSettings:
    return MediaSettings(
        ice_hosts=("127.0.0.1",),
        recordings_dir=tmp_path / "recordings",
        quality_interval=0.25,
        quality_window=1.0,
        resume_grace=1.5,
    )


@dataclass
class Sfu:
    url: str
    node: MediaNode
    app: web.Application
    clients: list[SfuClient]

    def token(self, user: str, *, role: str = "learner", room: str = "room1", record: bool = False,
              ttl: int = 300, now: datetime | None = None) -> str:
        return sign_join_token(SECRET, user_id=user, name=f"User {user}", role=role, room=room,
                               node="local", record=record, ttl_seconds=ttl, now=now or datetime.now(UTC))

    def client(self, user: str, **kw: Any) -> SfuClient:
        token_kw = {k: kw.pop(k) for k in ("role", "room", "record", "ttl") if k in kw}
        client = SfuClient(self.url, self.token(user, **token_kw), **kw)
        self.clients.append(client)
        return client

    async def mentor_and_learner(self, camera: ClipTrack, microphone: ClipTrack) -> tuple[SfuClient, SfuClient]:
        """The mentor publishing `camera` and `microphone`, and a learner receiving both."""
        mentor = self.client("mentor", role="mentor")
        await mentor.connect({"camera": camera, "microphone": microphone})
        learner = self.client("learner")
        await learner.connect()
        await learner.wait_until(
            lambda: len(learner.received) == 2 and all(r.count > 10 for r in learner.received.values())
        )
        return mentor, learner


@pytest.fixture
async def sfu(tmp_path: Path, sfu_settings: MediaSettings) -> AsyncIterator[Sfu]:
    app = web.Application()
    app[keys.CONFIG] = load_config(
        environ={}, overrides={"media": {"ice_hosts": ["127.0.0.1"]}, "recordings": {"dir": str(tmp_path)}}
    )
    app[keys.SECRET] = SECRET
    app[keys.METRICS] = []
    setup_rtc(app, settings=sfu_settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    clients: list[SfuClient] = []
    try:
        yield Sfu(str(server.make_url("/rtc")), app[MEDIA_NODE], app, clients)
    finally:
        for client in clients:
            await client.close()
        await server.close()


JoinFn = Callable[..., Awaitable[SfuClient]]
