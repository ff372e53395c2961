"""Fixtures for recordings: short windows so a few seconds of media make several parts, and everyone who
may or may not fetch a recording."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.conftest import make_config
from tests.integration.after_session.cast import Cast, make_cast
from tests.integration.room.conftest import media  # noqa: F401  (a fixture)
from tests.support.api import ApiClient
from web.config import Config

SEGMENT_SECONDS = 1.0


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(
        tmp_path,
        recordings={"segment_seconds": SEGMENT_SECONDS, "segment_grace_seconds": 0.4, "finish_timeout_seconds": 5.0},
        # The real embedded runner, polling often: nobody runs the jobs by hand.
        workers={"dispatcher": True, "poll_seconds": 0.2},
        sessions={"chat_flush_seconds": 0.2},
    )


@pytest.fixture
async def cast(api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]) -> Cast:
    return await make_cast(api, new_api)
