"""Free booking through the API: the rules, the events after commit, and seats under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from models.clock import ManualClock
from models.tables import Booking, MentorSession, Notification, ScheduledJob
from tests.integration.sessions.helpers import BusTap, People, booking_rows, create_session, me
from tests.support.api import ApiClient, sign_up
from web.bookings.service import PAID_BOOKINGS
from web.keys import DB


async def test_free_booking_confirms_counts_notifies_and_publishes_after_commit(
    people: People, bus_tap: BusTap
) -> None:
    session = await create_session(people.mentor, capacity=3)
    mentor, learner = await me(people.mentor), await me(people.learner)
    sid = session["id"]
    await bus_tap.listen(f"requests:{mentor['id']}", f"sessions:{sid}", f"responses:{learner['id']}",
                         f"notifications:{mentor['id']}", f"notifications:{learner['id']}")
    bus_tap.reset()

    body = await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)

    assert body["booking"]["status"] == "confirmed"
    assert body["booking"]["learner"] == {"id": learner["id"], "name": learner["name"]}
    assert body["session"]["seats_taken"] == 1
    assert body["session"]["booked_count"] == 1
    assert body["session"]["seats_left"] == 2
    assert body["session"]["viewer"]["booking_status"] == "confirmed"
    assert body["session"]["viewer"]["can_book"] is False
    assert body["session"]["room_code"], "a booked learner sees the room code"
    bus_tap.assert_published_after_commit()
    expected = {"session_id": sid, "booked_count": 1, "seats_left": 2,
                "learner": {"id": learner["id"], "name": learner["name"]}}
    assert bus_tap.events(f"requests:{mentor['id']}") == [("new_booking", expected)]
    assert bus_tap.events(f"sessions:{sid}") == [("new_booking", expected)]
    assert bus_tap.events(f"responses:{learner['id']}") == [
        ("booking_confirmed", {"session_id": sid, "booking_id": body["booking"]["id"]})
    ]
    assert bus_tap.names(f"notifications:{mentor['id']}") == ["new_booking"]
    assert bus_tap.names(f"notifications:{learner['id']}") == ["booking_confirmed"]
    async with people.mentor.app[DB].session() as s:
        notes = (await s.exec(select(Notification).order_by(col(Notification.id)))).all()
        reminder = (await s.exec(select(ScheduledJob).where(ScheduledJob.kind == "session_reminder"))).all()
    assert [(n.user_id, n.title) for n in notes] == [
        (mentor["id"], "New booking"), (learner["id"], "Booking confirmed")
    ]
    assert [job.args for job in reminder] == [{"session_id": sid, "learner_id": learner["id"]}]

    mentor_view = await people.mentor.json("GET", f"/api/sessions/{sid}", 200)
    assert mentor_view["session"]["booked_count"] == 1
    assert mentor_view["session"]["viewer"]["can_enter_room"] is True


async def test_booking_twice_is_409_and_changes_nothing(people: People) -> None:
    sid = (await create_session(people.mentor))["id"]
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    again = await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 409)
    assert "already booked" in again["error"]
    view = await people.learner.json("GET", f"/api/sessions/{sid}", 200)
    assert view["session"]["seats_taken"] == 1
    assert await booking_rows(people.mentor.app[DB], sid) == 1


async def test_mentors_cannot_book_and_signed_out_is_401(people: People) -> None:
    sid = (await create_session(people.mentor))["id"]
    assert (await people.mentor.post(f"/api/sessions/{sid}/bookings")).status == 403
    assert (await people.other_mentor.post(f"/api/sessions/{sid}/bookings")).status == 403
    assert (await people.anonymous.post(f"/api/sessions/{sid}/bookings")).status == 401
    assert (await people.learner.post("/api/sessions/99999/bookings")).status == 404
    assert await booking_rows(people.mentor.app[DB], sid) == 0


async def test_full_session_refuses_the_next_learner(people: People) -> None:
    sid = (await create_session(people.mentor, capacity=1))["id"]
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    body = await people.second_learner.json("POST", f"/api/sessions/{sid}/bookings", 409)
    assert "full" in body["error"]
    view = await people.second_learner.json("GET", f"/api/sessions/{sid}", 200)
    assert view["session"]["viewer"]["can_book"] is False
    assert view["session"]["viewer"]["reasons"]["book"] == body["error"]


async def test_cancelled_and_ended_sessions_cannot_be_booked(people: People, clock: ManualClock) -> None:
    cancelled = (await create_session(people.mentor))["id"]
    await people.mentor.json("POST", f"/api/sessions/{cancelled}/cancel", 200)
    assert "cancelled" in (await people.learner.json("POST", f"/api/sessions/{cancelled}/bookings", 409))["error"]

    ended = (await create_session(people.mentor))["id"]
    await people.second_learner.json("POST", f"/api/sessions/{ended}/bookings", 201)
    clock.advance(timedelta(minutes=50))
    await people.mentor.json("POST", f"/api/sessions/{ended}/go-live", 200)
    # A live session can still be booked before its end...
    live_booking = await people.learner.json("POST", f"/api/sessions/{ended}/bookings", 201)
    assert live_booking["session"]["status"] == "live"
    await people.mentor.json("POST", f"/api/sessions/{ended}/end", 200)
    await sign_up(people.anonymous, "learner", "third@example.com")
    assert "ended" in (await people.anonymous.json("POST", f"/api/sessions/{ended}/bookings", 409))["error"]


async def test_booking_closes_at_the_scheduled_end(people: People, clock: ManualClock) -> None:
    sid = (await create_session(people.mentor, duration_minutes=30))["id"]
    clock.advance(timedelta(hours=1, minutes=30) - timedelta(seconds=1))
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    clock.advance(timedelta(seconds=1))
    body = await people.second_learner.json("POST", f"/api/sessions/{sid}/bookings", 409)
    assert "over" in body["error"]


async def test_paid_sessions_answer_409_while_no_payments_flow_is_registered(
    app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    # The payments code registers its flow in create_app; without it paid booking must refuse, not half-book.
    del app[PAID_BOOKINGS]
    mentor = ApiClient(await aiohttp_client(app))
    learner = ApiClient(await aiohttp_client(mentor.client.server))
    await sign_up(mentor, "mentor", "maya@example.com")
    await sign_up(learner, "learner", "lena@example.com")
    sid = (await create_session(mentor, price_paise=49900))["id"]
    body = await learner.json("POST", f"/api/sessions/{sid}/bookings", 409)
    assert body == {"error": "Paid booking is not available yet"}
    assert await booking_rows(app[DB], sid) == 0
    assert (await learner.json("GET", f"/api/sessions/{sid}", 200))["session"]["seats_taken"] == 0


async def test_paid_sessions_go_to_the_payments_flow_and_book_again_resumes_the_hold(people: People) -> None:
    sid = (await create_session(people.mentor, price_paise=49900, capacity=2))["id"]
    first = await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    assert first["booking"]["status"] == "pending_payment"
    assert first["checkout"]["amount"] == 49900
    assert first["session"]["seats_taken"] == 1 and first["session"]["booked_count"] == 0
    again = await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    assert again["booking"]["id"] == first["booking"]["id"]
    assert again["checkout"]["order_id"] == first["checkout"]["order_id"]
    assert await _seats_and_rows(people.mentor, sid) == (1, 1, 0)


async def test_only_the_sessions_mentor_lists_its_bookings(people: People) -> None:
    sid = (await create_session(people.mentor))["id"]
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    await people.second_learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    body = await people.mentor.json("GET", f"/api/sessions/{sid}/bookings", 200)
    assert [b["learner"]["name"] for b in body["bookings"]] == ["Lena Learner", "Leo Learner"]
    assert {b["status"] for b in body["bookings"]} == {"confirmed"}
    assert (await people.other_mentor.get(f"/api/sessions/{sid}/bookings")).status == 403
    assert (await people.learner.get(f"/api/sessions/{sid}/bookings")).status == 403


async def _seats_and_rows(api: ApiClient, sid: int) -> tuple[int, int, int]:
    async with api.app[DB].session() as s:
        session = await s.get(MentorSession, sid)
        assert session is not None
        confirmed = len((await s.exec(
            select(Booking).where(Booking.session_id == sid, Booking.status == "confirmed")
        )).all())
    return session.seats_taken, await booking_rows(api.app[DB], sid), confirmed


async def test_twenty_learners_racing_for_five_seats(
    people: People, new_api: Callable[[], Awaitable[ApiClient]]
) -> None:
    sid = (await create_session(people.mentor, capacity=5))["id"]
    learners = []
    for n in range(20):
        client = await new_api()
        await sign_up(client, "learner", f"racer{n}@example.com", name=f"Racer {n}")
        learners.append(client)

    responses = await asyncio.gather(*(c.post(f"/api/sessions/{sid}/bookings") for c in learners))

    statuses = sorted(r.status for r in responses)
    assert statuses == [201] * 5 + [409] * 15, statuses
    for response in responses:
        if response.status == 409:
            assert "full" in (await response.json())["error"]
    assert await _seats_and_rows(people.mentor, sid) == (5, 5, 5)


async def test_one_learner_racing_ten_times_books_once(people: People) -> None:
    sid = (await create_session(people.mentor, capacity=5))["id"]

    responses = await asyncio.gather(*(people.learner.post(f"/api/sessions/{sid}/bookings") for _ in range(10)))

    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 9, statuses
    assert await _seats_and_rows(people.mentor, sid) == (1, 1, 1)
