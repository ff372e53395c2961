"""Fixtures for feedback, resources and the Past tabs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.integration.after_session.cast import Cast, make_cast
from tests.support.api import ApiClient


@pytest.fixture
async def cast(api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]) -> Cast:
    return await make_cast(api, new_api)
