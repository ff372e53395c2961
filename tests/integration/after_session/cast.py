"""Everyone the after-the-end tests need, and a session that has run and ended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models.clock import ManualClock
from tests.integration.sessions.helpers import create_session, me
from tests.support.api import ApiClient, sign_up
from web.accounts.service import create_account
from web.keys import CLOCK, DB, PASSWORDS

START = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


@dataclass
class Cast:
    mentor: ApiClient
    other_mentor: ApiClient
    learner: ApiClient  # books every session made by `ended_session`
    unbooked: ApiClient
    admin: ApiClient
    anonymous: ApiClient

    def everyone(self) -> dict[str, ApiClient]:
        return {
            "mentor": self.mentor, "other_mentor": self.other_mentor, "booked_learner": self.learner,
            "unbooked_learner": self.unbooked, "admin": self.admin, "signed_out": self.anonymous,
        }


async def make_cast(api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]) -> Cast:
    await sign_up(api, "mentor", "maya@example.com")
    other_mentor = await new_api()
    await sign_up(other_mentor, "mentor", "omar@example.com", name="Omar Other")
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com")
    unbooked = await new_api()
    await sign_up(unbooked, "learner", "leo@example.com", name="Leo Learner")
    app = api.app
    await create_account(app[DB], app[CLOCK], app[PASSWORDS], "admin",
                         {"email": "root@example.com", "name": "Root", "password": "admin12345"})
    admin = await new_api()
    await admin.json("POST", "/api/auth/login", 200, json={"email": "root@example.com", "password": "admin12345"})
    return Cast(mentor=api, other_mentor=other_mentor, learner=learner, unbooked=unbooked, admin=admin,
                anonymous=await new_api())


async def run_session(cast: Cast, clock: ManualClock, *, end: bool = True, learners: tuple[ApiClient, ...] = (),
                      **fields: Any) -> dict[str, Any]:
    """A free session booked by `cast.learner` (and `learners`), taken live at its start and ended."""
    fields.setdefault("start_at", iso(clock.now() + timedelta(hours=1)))
    session = await create_session(cast.mentor, **fields)
    sid = session["id"]
    for learner in (cast.learner, *learners):
        await learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    start = datetime.fromisoformat(session["start_at"].replace("Z", "+00:00"))
    if clock.now() < start:
        clock.set(start)
    await cast.mentor.json("POST", f"/api/sessions/{sid}/go-live", 200)
    if end:
        body = await cast.mentor.json("POST", f"/api/sessions/{sid}/end", 200)
        return dict(body["session"])
    return dict((await cast.mentor.json("GET", f"/api/sessions/{sid}", 200))["session"])


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def user_id(client: ApiClient) -> int:
    return int((await me(client))["id"])
