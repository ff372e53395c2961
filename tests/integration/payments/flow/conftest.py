"""The real app with its in-process Razorpay sandbox, the real SDK, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import make_config
from tests.integration.payments.flow.support import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, Shop
from tests.support.api import ApiClient
from web.config import Config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, payments={"key_id": KEY_ID, "key_secret": KEY_SECRET,
                                           "webhook_secret": WEBHOOK_SECRET, "request_timeout_seconds": 5})


@pytest.fixture
async def shop(app: web.Application, api: ApiClient) -> Shop:
    """Started app (the `api` fixture starts it, and with it the sandbox) plus helpers around it."""
    return await Shop.open(app, api)
