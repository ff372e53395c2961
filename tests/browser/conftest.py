"""Page tests: the real app on a loopback port and Debian's headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from models.clock import SystemClock
from models.db import Database
from tests.conftest import make_config
from tests.support.browser import chromium_args, chromium_executable
from tests.support.database import TestDatabases
from web.app import create_app
from web.passwords import fast_test_hasher


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=chromium_executable(), args=chromium_args())
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def browser_db(tmp_path: Path, databases: TestDatabases) -> AsyncIterator[Database]:
    async with databases.open("sqlite", tmp_path) as db:
        yield db


@pytest.fixture
def browser_app(tmp_path: Path, browser_db: Database) -> web.Application:
    # Page tests run on real time: countdowns and timers in the page use the browser's clock too.
    return create_app(make_config(tmp_path), clock=SystemClock(), passwords=fast_test_hasher(), database=browser_db)


@pytest.fixture
async def live_server(browser_app: web.Application) -> AsyncIterator[str]:
    server = TestServer(browser_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()

