"""A learner cancels or moves their own booking: seats, the mentor's live count, notifications, the rules."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel import col, select

from models.clock import ManualClock
from models.tables import Booking, MentorSession, Notification
from tests.integration.sessions.helpers import BusTap, People, create_session, me
from tests.support.api import ApiClient, sign_up
from web.keys import DB


async def _seats(api: ApiClient, sid: int) -> tuple[int, int]:
    """(seats_taken, confirmed bookings) as stored."""
    async with api.app[DB].session() as s:
        session = await s.get(MentorSession, sid)
        assert session is not None
        confirmed = len((await s.exec(
            select(Booking).where(Booking.session_id == sid, Booking.status == "confirmed"))).all())
    return session.seats_taken, confirmed


async def _notes(api: ApiClient, user_id: int) -> list[tuple[str, str]]:
    async with api.app[DB].session() as s:
        rows = (await s.exec(select(Notification).where(Notification.user_id == user_id)
                             .order_by(col(Notification.id)))).all()
    return [(n.kind, n.body) for n in rows]


async def test_cancelling_a_free_booking_frees_the_seat_and_updates_the_mentor_live(
    people: People, bus_tap: BusTap
) -> None:
    sid = (await create_session(people.mentor, capacity=1))["id"]
    mentor, learner = await me(people.mentor), await me(people.learner)
    booked = await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    booking_id = booked["booking"]["id"]
    assert booked["session"]["viewer"]["booking_id"] == booking_id
    assert booked["session"]["viewer"]["can_change_booking"] is True
    await bus_tap.listen(f"requests:{mentor['id']}", f"responses:{learner['id']}")
    bus_tap.reset()

    body = await people.learner.json("POST", f"/api/bookings/{booking_id}/cancel", 200)

    assert body["booking"]["status"] == "cancelled"
    assert body["refund"] == {"amount_paise": 0, "percent": 0}
    assert body["session"]["viewer"]["booking_status"] == "cancelled"
    assert body["session"]["viewer"]["can_book"] is True
    assert body["session"]["seats_left"] == 1
    assert await _seats(people.mentor, sid) == (0, 0)
    bus_tap.assert_published_after_commit()
    assert bus_tap.events(f"requests:{mentor['id']}") == [("booking_cancelled", {
        "session_id": sid, "booked_count": 0, "seats_left": 1,
        "learner": {"id": learner["id"], "name": learner["name"]}})]
    assert [name for name in bus_tap.names(f"responses:{learner['id']}")] == ["booking_cancelled"]
    assert [kind for kind, _ in await _notes(people.mentor, mentor["id"])] == ["new_booking", "booking_cancelled"]
    assert [kind for kind, _ in await _notes(people.mentor, learner["id"])] == ["booking_confirmed",
                                                                               "booking_cancelled"]
    mentor_view = await people.mentor.json("GET", f"/api/sessions/{sid}", 200)
    assert mentor_view["session"]["booked_count"] == 0

    # The freed seat is bookable at once, by anyone, the same learner included.
    await people.second_learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    assert await _seats(people.mentor, sid) == (1, 1)


async def test_cancel_is_refused_twice_for_strangers_and_after_the_edit_window(
    people: People, clock: ManualClock
) -> None:
    sid = (await create_session(people.mentor))["id"]
    booking_id = (await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201))["booking"]["id"]

    await people.second_learner.json("POST", f"/api/bookings/{booking_id}/cancel", 404)
    await people.mentor.json("POST", f"/api/bookings/{booking_id}/cancel", 403)
    await people.anonymous.json("POST", f"/api/bookings/{booking_id}/cancel", 401)
    await people.learner.json("POST", "/api/bookings/999999/cancel", 404)

    clock.advance(timedelta(minutes=55, seconds=1))  # 4 min 59 s before the 10:00 start
    refused = await people.learner.json("POST", f"/api/bookings/{booking_id}/cancel", 409)
    assert "5 minutes before the start" in refused["error"]
    view = await people.learner.json("GET", f"/api/sessions/{sid}", 200)
    assert view["session"]["viewer"]["can_change_booking"] is False
    assert await _seats(people.mentor, sid) == (1, 1)

    clock.advance(timedelta(minutes=-1))
    await people.learner.json("POST", f"/api/bookings/{booking_id}/cancel", 200)
    again = await people.learner.json("POST", f"/api/bookings/{booking_id}/cancel", 409)
    assert "already cancelled" in again["error"]


async def test_moving_a_booking_to_another_session_of_the_same_mentor(people: People, bus_tap: BusTap) -> None:
    first = (await create_session(people.mentor, capacity=2))["id"]
    later = (await create_session(people.mentor, title="Second run", start_at="2030-01-02T10:00:00Z"))["id"]
    mentor, learner = await me(people.mentor), await me(people.learner)
    booking_id = (await people.learner.json("POST", f"/api/sessions/{first}/bookings", 201))["booking"]["id"]
    await bus_tap.listen(f"requests:{mentor['id']}")
    bus_tap.reset()

    body = await people.learner.json("POST", f"/api/bookings/{booking_id}/move", 200, json={"session_id": later})

    assert body["booking"]["id"] == booking_id and body["booking"]["session_id"] == later
    assert body["session"]["id"] == later and body["session"]["viewer"]["booking_status"] == "confirmed"
    assert body["from_session"]["viewer"]["booking_status"] is None
    assert await _seats(people.mentor, first) == (0, 0)
    assert await _seats(people.mentor, later) == (1, 1)
    assert [(name, data["session_id"], data["booked_count"]) for name, data in
            bus_tap.events(f"requests:{mentor['id']}")] == [("booking_cancelled", first, 0), ("new_booking", later, 1)]
    assert (await _notes(people.mentor, mentor["id"]))[-1] == (
        "booking_moved", f"{learner['name']} moved their booking from “Designing resilient APIs” to “Second run”.")
    assert (await _notes(people.mentor, learner["id"]))[-1][0] == "booking_moved"

    # And back again, onto the row the learner left there: still one booking, the same id.
    back = await people.learner.json("POST", f"/api/bookings/{booking_id}/move", 200, json={"session_id": first})
    assert back["booking"]["session_id"] == first
    assert await _seats(people.mentor, first) == (1, 1)
    assert await _seats(people.mentor, later) == (0, 0)


async def test_moving_is_refused_across_mentors_prices_full_or_past_sessions(
    people: People, clock: ManualClock
) -> None:
    sid = (await create_session(people.mentor))["id"]
    other_mentor = (await create_session(people.other_mentor, start_at="2030-01-02T10:00:00Z"))["id"]
    dearer = (await create_session(people.mentor, price_paise=50_000, start_at="2030-01-02T11:00:00Z"))["id"]
    full = (await create_session(people.mentor, capacity=1, start_at="2030-01-02T12:00:00Z"))["id"]
    soon = (await create_session(people.mentor, start_at="2030-01-01T09:30:00Z"))["id"]
    await people.second_learner.json("POST", f"/api/sessions/{full}/bookings", 201)
    booking_id = (await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201))["booking"]["id"]

    async def refused(target: int) -> str:
        body = await people.learner.json("POST", f"/api/bookings/{booking_id}/move", 409, json={"session_id": target})
        return str(body["error"])

    assert "same mentor" in await refused(other_mentor)
    assert "same price" in await refused(dearer)
    assert "full" in await refused(full)
    assert "already on this session" in await refused(sid)
    await people.learner.json("POST", f"/api/bookings/{booking_id}/move", 404, json={"session_id": 999999})
    await people.learner.json("POST", f"/api/bookings/{booking_id}/move", 400, json={})
    clock.advance(timedelta(minutes=31))  # `soon` has started
    assert "upcoming" in await refused(soon)
    assert await _seats(people.mentor, sid) == (1, 1)
    assert await _seats(people.mentor, full) == (1, 1)


async def test_a_cancel_racing_new_bookings_for_the_last_seat(
    people: People, new_api: Callable[[], Awaitable[ApiClient]]
) -> None:
    """However the race falls, a seat is never counted twice nor lost, and the session never overfills."""
    racers = []
    for n in range(4):
        client = await new_api()
        await sign_up(client, "learner", f"racer{n}@example.com", name=f"Racer {n}")
        racers.append(client)
    for round_ in range(3):
        sid = (await create_session(people.mentor, capacity=1, title=f"Round {round_}"))["id"]
        booking_id = (await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201))["booking"]["id"]

        cancel, *books = await asyncio.gather(
            people.learner.post(f"/api/bookings/{booking_id}/cancel"),
            *(c.post(f"/api/sessions/{sid}/bookings") for c in racers),
        )

        assert cancel.status == 200
        winners = [r for r in books if r.status == 201]
        assert len(winners) <= 1
        assert all(r.status in (201, 409) for r in books)
        taken, confirmed = await _seats(people.mentor, sid)
        assert taken == confirmed == len(winners)
        if not winners:  # every racer came before the cancel: the freed seat is there for the next one
            await racers[0].json("POST", f"/api/sessions/{sid}/bookings", 201)
            assert await _seats(people.mentor, sid) == (1, 1)
