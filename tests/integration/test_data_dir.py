"""`[paths] data_dir`: everything an instance writes lives under it, so instances (and tests) never write into
the checkout and two instances from one checkout share no secrets."""

from __future__ import annotations

import io
import os
from pathlib import Path

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from models.clock import SystemClock
from tests.support.api import ApiClient, sign_up
from web.accounts.passwords import fast_test_hasher
from web.accounts.profile import photos_dir
from web.app import create_app
from web.config import PROJECT_ROOT, ensure_secret, load_config
from web.keys import DB
from web.recommend.service import model_store
from web.recordings.storage import recordings_root
from web.resources.storage import resource_store
from web.sessions.thumbnails import thumbnails_dir

SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}


def checkout_files() -> set[Path]:
    found: set[Path] = set()
    for folder, dirs, files in os.walk(PROJECT_ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.endswith(".egg-info")]
        found.update(Path(folder, name) for name in files if not name.endswith(".pyc"))
    return found


def test_every_runtime_path_resolves_under_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "instance-2"
    config = load_config(environ={"MENTORLIVE_PATHS_DATA_DIR": str(data)})
    assert config.data_dir == data
    paths = {
        "database": Path(config.database_url.removeprefix("sqlite+aiosqlite:///")),
        "thumbnails": thumbnails_dir(config),
        "photos": photos_dir(config),
        "resources": resource_store(config).directory,
        "recordings": recordings_root(config),
        "models": model_store(config).directory,
    }
    for name, path in paths.items():
        assert path.is_relative_to(data), (name, path)
    ensure_secret(config, "web", "secret", "secret.key")
    assert (data / "secret.key").exists()
    # A second instance with its own data folder gets its own secret.
    other = load_config(environ={"MENTORLIVE_PATHS_DATA_DIR": str(tmp_path / "instance-3")})
    assert ensure_secret(other, "web", "secret", "secret.key") != ensure_secret(config, "web", "secret", "secret.key")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


async def test_an_instance_run_like_serve_writes_nothing_into_the_checkout(tmp_path: Path) -> None:
    """The production path: config from config.toml and the environment only (no test overrides), the
    default SQLite database, generated secrets, the sandbox started, a signup and an upload."""
    before = checkout_files()
    data = tmp_path / "data"
    config = load_config(environ={"MENTORLIVE_PATHS_DATA_DIR": str(data)})
    app = create_app(config, clock=SystemClock(), passwords=fast_test_hasher())
    await app[DB].create_all()
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        api = ApiClient(client)
        await sign_up(api, "mentor", "m@example.com")
        form = FormData()
        form.add_field("photo", io.BytesIO(_png()), filename="me.png", content_type="image/png")
        response = await api.patch("/api/mentors/me", data=form)
        assert response.status == 200, await response.text()
    finally:
        await client.close()
    assert (data / "secret.key").exists() and (data / "mentorlive.db").exists()
    assert any((data / "photos").iterdir())
    assert checkout_files() - before == set()
