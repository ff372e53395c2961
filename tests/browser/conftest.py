"""Page tests: the real app on a loopback port and Debian's headless Chromium.

One Chromium serves every test here (launching Playwright's driver and the browser costs about half a second
a test); each test works in browser contexts of its own, and the `browser` fixture closes whatever contexts
the test opened, so no cookie, storage or open page outlives it. Playwright's objects belong to the event
loop that started them, so every test and async fixture in this folder runs on pytest-asyncio's session
loop (the hook below marks the tests; fixtures say `loop_scope="session"`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from models.clock import SystemClock
from models.db import Database
from tests.conftest import make_config
from tests.support.browser import chromium_args, chromium_executable
from tests.support.database import TestDatabases
from web.accounts.passwords import fast_test_hasher
from web.app import create_app

BROWSER_TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's collection hook sees the whole session's items: mark only this folder's tests. Every test
    # here drives Chromium, so every one is `browser` (whether or not its module says so): `--fast` leaves it
    # out, and tests/conftest.py (which runs after this hook) keeps it on the one media-and-browser worker.
    on_session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if not item.path.is_relative_to(BROWSER_TESTS):
            continue
        if not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
        if pytest_asyncio.is_async_test(item):
            item.add_marker(on_session_loop, append=False)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """The one Chromium of this folder's tests, closed after the last of them."""
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=chromium_executable(), args=chromium_args())
        try:
            yield instance
        finally:
            await instance.close()


class CspWatch:
    """The shared Chromium, with every page it opens for a test watched for Content-Security-Policy
    violations (Chromium reports each one as a console error): a page that needs an inline script or
    style, or a source the policy does not list, fails the test that opened it."""

    def __init__(self, chromium: Browser) -> None:
        self._chromium = chromium
        self.violations: list[str] = []

    def _record(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"{message.location.get('url', '')}: {message.text}")

    async def new_context(self, **kwargs: Any) -> BrowserContext:
        context = await self._chromium.new_context(**kwargs)
        context.on("console", self._record)
        return context

    async def new_page(self, **kwargs: Any) -> Page:
        page = await self._chromium.new_page(**kwargs)
        page.on("console", self._record)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chromium, name)


@pytest_asyncio.fixture(loop_scope="session")
async def csp_watch(chromium: Browser) -> AsyncIterator[CspWatch]:
    watch = CspWatch(chromium)
    yield watch
    assert watch.violations == [], "pages broke the Content-Security-Policy:\n" + "\n".join(watch.violations)


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: Browser, csp_watch: CspWatch) -> AsyncIterator[Browser]:
    """The shared Chromium (watched for CSP violations); the contexts (and pages) this test opens are closed
    after it."""
    before = set(chromium.contexts)
    yield cast(Browser, csp_watch)
    for context in chromium.contexts:
        if context not in before:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser_db(tmp_path: Path, databases: TestDatabases) -> AsyncIterator[Database]:
    async with databases.open("sqlite", tmp_path) as db:
        yield db


@pytest.fixture
def browser_app(tmp_path: Path, browser_db: Database) -> web.Application:
    # Page tests run on real time: countdowns and timers in the page use the browser's clock too.
    return create_app(make_config(tmp_path), clock=SystemClock(), passwords=fast_test_hasher(), database=browser_db)


@pytest_asyncio.fixture(loop_scope="session")
async def live_server(browser_app: web.Application) -> AsyncIterator[str]:
    server = TestServer(browser_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest_asyncio.fixture(loop_scope="session")
async def aiohttp_server() -> AsyncIterator[Callable[[web.Application], Awaitable[TestServer]]]:
    """pytest-aiohttp's fixture of the same name, on the session loop: servers started, closed after the test."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> TestServer:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()
