"""Shared fixtures: a clock tests move by hand, a real database (SQLite and PostgreSQL), the real app."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from models.clock import ManualClock
from models.db import Database
from tests.support.api import ApiClient
from tests.support.database import TestDatabases
from web.accounts.passwords import fast_test_hasher
from web.app import create_app
from web.config import Config, load_config

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # With pytest-xdist's `--dist loadgroup`, the timing-sensitive tests (real aiortc media, Chromium) run one
    # after another on one worker while the other workers take the database tests.
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("media"):
            item.add_marker(pytest.mark.xdist_group("media_and_browser"))


@pytest.fixture(scope="session", autouse=True)
def data_dir_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`mentorlive` processes the tests start (CLI, Celery workers) read the environment: their data folder
    is a temporary one too, so no test run writes secrets or files into the checkout's var/."""
    folder = tmp_path_factory.mktemp("data_dir")
    previous = os.environ.get("MENTORLIVE_PATHS_DATA_DIR")
    os.environ["MENTORLIVE_PATHS_DATA_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("MENTORLIVE_PATHS_DATA_DIR", None)
    else:
        os.environ["MENTORLIVE_PATHS_DATA_DIR"] = previous


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    """Tables made once per run (SQLite template, PostgreSQL schema); every test gets them empty."""
    made = TestDatabases(tmp_path_factory.mktemp("databases"))
    yield made
    made.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database(db_kind: str, tmp_path: Path, databases: TestDatabases) -> AsyncIterator[Database]:
    async with databases.open(db_kind, tmp_path) as db:
        yield db


def make_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    overrides: dict[str, dict[str, Any]] = {
        # Everything runtime (generated secrets, uploads, SQLite files, models) under the test's folder.
        "paths": {"data_dir": str(tmp_path / "data")},
        "web": {"secret": "test-secret-not-for-production"},
        "media": {"ice_hosts": ["127.0.0.1"]},
        "recordings": {"dir": str(tmp_path / "recordings")},
        # Tests run due jobs themselves (`await app[JOB_RUNNER].run_due()`) after moving the clock.
        "workers": {"dispatcher": False},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    # Anchored at the test's folder too: nothing a test does lands in the checkout.
    return dataclasses.replace(load_config(environ={}, overrides=overrides), root=tmp_path)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def app(config: Config, clock: ManualClock, database: Database) -> web.Application:
    return create_app(config, clock=clock, passwords=fast_test_hasher(), database=database)


@pytest.fixture
async def api(app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> ApiClient:
    return ApiClient(await aiohttp_client(app))


@pytest.fixture
async def new_api(api: ApiClient) -> AsyncIterator[Callable[[], Awaitable[ApiClient]]]:
    """Another browser on the same server (its own cookies)."""
    made: list[TestClient] = []

    async def make() -> ApiClient:
        client: TestClient[Any, Any] = TestClient(api.client.server)
        await client.start_server()
        made.append(client)
        return ApiClient(client)

    yield make
    for client in made:
        # The server belongs to `api`; close only this client's HTTP session.
        await client.session.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fuzz tests' counts (tests/fuzz/test_api_fuzz.py), per endpoint and database: inputs tried, 5xx.

    Here rather than in tests/fuzz/conftest.py: under xdist only the controller prints, and it reads the
    properties the workers' reports carry."""
    rows = [value for reports in terminalreporter.stats.values() for report in reports
            if getattr(report, "when", None) == "call"
            for name, value in getattr(report, "user_properties", []) if name == "fuzz"]
    if not rows:
        return
    terminalreporter.section("HTTP API fuzzing: inputs tried per endpoint")
    for row in sorted(rows, key=lambda r: (r["endpoint"], r["db"])):
        statuses = " ".join(f"{status}:{count}" for status, count in row["statuses"].items())
        terminalreporter.write_line(
            f"{row['endpoint']:<46} {row['db']:<8} tried {row['tried']:>5}  5xx {row['5xx']:>3}  {statuses}")
    terminalreporter.write_line(f"total: {sum(r['tried'] for r in rows)} inputs, "
                                f"{sum(r['5xx'] for r in rows)} answered 5xx")
