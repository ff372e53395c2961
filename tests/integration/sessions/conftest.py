"""Fixtures for the sessions suite: thumbnails kept under the test's own directory, people, a bus tap."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.integration.sessions.helpers import BusTap, People
from tests.support.api import ApiClient, sign_up
from web.keys import DB
from web.realtime.keys import BUS


@pytest.fixture
async def people(api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]) -> People:
    """A mentor (on `api`), a second mentor and two learners, each signed in on their own client."""
    await sign_up(api, "mentor", "maya@example.com")
    other_mentor = await new_api()
    await sign_up(other_mentor, "mentor", "omar@example.com", name="Omar Other", expertise=["rust"])
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    second = await new_api()
    await sign_up(second, "learner", "leo@example.com", name="Leo Learner", interests=["rust"])
    anonymous = await new_api()
    return People(mentor=api, other_mentor=other_mentor, learner=learner, second_learner=second,
                  anonymous=anonymous)


@pytest.fixture
async def bus_tap(api: ApiClient) -> AsyncIterator[BusTap]:
    tap = BusTap(api.app[BUS], api.app[DB])
    yield tap
    await tap.close()
