"""Without `[email]`: nothing is queued, nothing is sent, booking works as before."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlmodel import select

from models.tables import ScheduledJob
from tests.conftest import make_config
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from web.config import Config
from web.jobs import JOB_RUNNER
from web.keys import DB
from web.mail.service import SEND_EMAIL


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)  # config.toml's [email] host is empty


async def test_without_email_settings_nothing_is_queued_and_nothing_fails(
        api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]) -> None:
    await sign_up(api, "mentor", "maya@example.com")
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    session = await create_session(api)
    booked = await learner.json("POST", f"/api/sessions/{session['id']}/bookings", 201)
    await api.json("POST", f"/api/sessions/{session['id']}/cancel", 200)
    await api.app[JOB_RUNNER].run_due()
    async with api.app[DB].session() as s:
        kinds = {job.kind for job in (await s.exec(select(ScheduledJob))).all()}
    assert SEND_EMAIL not in kinds
    # The calendar file needs no email settings.
    response = await learner.get(f"/api/bookings/{booked['booking']['id']}/calendar.ics")
    assert response.status == 200 and "METHOD:CANCEL" in await response.text()
