"""A learner whose booking ends stops receiving the session's channels on a socket already open."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from models.tables import Booking, MentorSession
from tests.support.api import ApiClient, sign_up
from web.keys import CLOCK, DB
from web.realtime.keys import BUS, HUB


async def test_a_cancelled_booking_stops_the_session_feed(
    api: ApiClient, new_api: Callable[[], Awaitable[ApiClient]]
) -> None:
    mentor = (await sign_up(api, "mentor", "m@example.com"))["user"]
    learner_api = await new_api()
    learner = (await sign_up(learner_api, "learner", "l@example.com"))["user"]
    now = api.app[CLOCK].now()
    async with api.app[DB].session() as s:
        session = MentorSession(mentor_id=mentor["id"], title="Revoke me", start_at=now + timedelta(days=1),
                                room_code="revoke-room", seats_taken=1, created_at=now, updated_at=now)
        s.add(session)
        await s.flush()
        booking = Booking(session_id=session.id or 0, learner_id=learner["id"], status="confirmed", created_at=now)
        s.add(booking)
        await s.commit()
    channel = f"sessions:{session.id}"
    async with learner_api.client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "subscribe", "channel": channel})
        assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
        assert await api.app[HUB].reauthorize() == 0  # still booked: nothing changes
        await api.app[BUS].publish(channel, "session_updated", {"n": 1})
        assert (await ws.receive_json(timeout=5))["data"] == {"n": 1}

        async with api.app[DB].session() as s:
            await s.execute(update(Booking).where(col(Booking.id) == booking.id).values(status="cancelled"))
            await s.commit()
        assert await api.app[HUB].reauthorize() == 1
        notice = await ws.receive_json(timeout=5)
        assert notice == {"type": "error", "error": "forbidden", "channel": channel, "revoked": True}
        await api.app[BUS].publish(channel, "session_updated", {"n": 2})
        await ws.send_json({"type": "ping"})
        # The next thing on the socket is the pong: the event after the revocation never arrived.
        assert await ws.receive_json(timeout=5) == {"type": "pong"}


async def test_a_socket_opened_with_a_cookie_closes_once_that_sign_in_is_logged_out(api: ApiClient) -> None:
    learner = (await sign_up(api, "learner", "thief-target@example.com"))["user"]
    channel = f"notifications:{learner['id']}"
    async with api.client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "subscribe", "channel": channel})
        assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
        assert await api.app[HUB].reauthorize() == 0  # still signed in: the socket stays
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json(timeout=5) == {"type": "pong"}

        logout = await api.post("/api/auth/logout")
        assert logout.status == 200
        assert await api.app[HUB].reauthorize() == 1
        assert await ws.receive_json(timeout=5) == {"type": "error", "error": "signed_out"}
        closing = await ws.receive(timeout=5)
        assert closing.type.name in ("CLOSE", "CLOSING", "CLOSED")
        assert ws.close_code == 4401
