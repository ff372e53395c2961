"""Edit and Cancel: only the session's mentor, only until start - 5 min; cancel releases and notifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.clock import ManualClock
from models.tables import Booking, MentorSession, Notification, Payment, ScheduledJob
from tests.integration.sessions.helpers import BusTap, People, create_session, me, png_bytes, session_fields
from tests.integration.sessions.test_create import multipart, thumbnail_files
from web.keys import DB


async def test_edit_changes_fields_and_publishes_session_updated(people: People, bus_tap: BusTap) -> None:
    sid = (await create_session(people.mentor))["id"]
    await bus_tap.listen(f"sessions:{sid}")
    bus_tap.reset()
    body = await people.mentor.json("PATCH", f"/api/sessions/{sid}", 200, json={
        "title": "Resilient APIs, revised", "capacity": 8, "date": "2030-01-03", "time": "09:00",
        "timezone": "Europe/London",
    })
    session = body["session"]
    assert session["title"] == "Resilient APIs, revised"
    assert session["capacity"] == 8
    assert session["start_at"] == "2030-01-03T09:00:00Z"
    assert session["domain_tags"] == ["system design", "python"], "fields not sent stay as they were"
    bus_tap.assert_published_after_commit()
    [(event, data)] = bus_tap.events(f"sessions:{sid}")
    assert event == "session_updated"
    assert data["title"] == "Resilient APIs, revised" and data["room_code"] is None
    assert "viewer" not in data


async def test_edit_keeps_the_sessions_timezone_when_none_is_sent(people: People) -> None:
    fields = session_fields(date="2030-01-02", time="10:00", timezone="Asia/Kolkata")
    del fields["start_at"]
    sid = (await people.mentor.json("POST", "/api/sessions", 201, json=fields))["session"]["id"]
    body = await people.mentor.json("PATCH", f"/api/sessions/{sid}", 200, json={"date": "2030-01-02",
                                                                                 "time": "11:00"})
    assert body["session"]["start_at"] == "2030-01-02T05:30:00Z"


async def test_edit_closes_exactly_five_minutes_before_start(people: People, clock: ManualClock) -> None:
    sid = (await create_session(people.mentor))["id"]
    clock.advance(timedelta(minutes=55) - timedelta(seconds=1))
    await people.mentor.json("PATCH", f"/api/sessions/{sid}", 200, json={"title": "Last call"})
    clock.advance(timedelta(seconds=1))
    body = await people.mentor.json("PATCH", f"/api/sessions/{sid}", 409, json={"title": "Too late"})
    assert "5 minutes" in body["error"]
    view = await people.mentor.json("GET", f"/api/sessions/{sid}", 200)
    assert view["session"]["title"] == "Last call"
    assert view["session"]["viewer"]["can_edit"] is False
    assert view["session"]["viewer"]["can_cancel"] is False


async def test_only_its_mentor_edits(people: People) -> None:
    sid = (await create_session(people.mentor))["id"]
    assert (await people.other_mentor.patch(f"/api/sessions/{sid}", json={"title": "Mine now"})).status == 403
    assert (await people.learner.patch(f"/api/sessions/{sid}", json={"title": "Mine now"})).status == 403
    assert (await people.mentor.patch("/api/sessions/99999", json={"title": "Nobody's"})).status == 404
    body = await people.mentor.json("PATCH", f"/api/sessions/{sid}", 400, json={"start_at": "2029-01-01T00:00:00Z"})
    assert body["field"] == "start_at"


async def test_capacity_and_price_are_guarded_once_booked(people: People) -> None:
    sid = (await create_session(people.mentor, capacity=3))["id"]
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    await people.second_learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    assert (await people.mentor.json("PATCH", f"/api/sessions/{sid}", 409, json={"capacity": 1}))["field"] == "capacity"
    await people.mentor.json("PATCH", f"/api/sessions/{sid}", 200, json={"capacity": 2})
    body = await people.mentor.json("PATCH", f"/api/sessions/{sid}", 409, json={"price_paise": 9900})
    assert body["field"] == "price_paise"


async def test_replacing_the_thumbnail_removes_the_old_file(people: People) -> None:
    created = await people.mentor.json("POST", "/api/sessions", 201, data=multipart(session_fields(), png_bytes()))
    sid = created["session"]["id"]
    old = thumbnail_files(people.mentor)
    body = await people.mentor.json("PATCH", f"/api/sessions/{sid}", 200,
                                    data=multipart({}, png_bytes(300, 600), filename="new.jpg"))
    new = thumbnail_files(people.mentor)
    assert len(old) == len(new) == 1 and old != new
    assert body["session"]["thumbnail_url"].endswith(new[0].name)


async def test_cancel_cancels_bookings_notifies_learners_and_publishes(people: People, bus_tap: BusTap) -> None:
    sid = (await create_session(people.mentor))["id"]
    learner, second = await me(people.learner), await me(people.second_learner)
    await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    await people.second_learner.json("POST", f"/api/sessions/{sid}/bookings", 201)
    await bus_tap.listen(f"sessions:{sid}", f"notifications:{learner['id']}", f"notifications:{second['id']}")
    bus_tap.reset()

    body = await people.mentor.json("POST", f"/api/sessions/{sid}/cancel", 200)

    assert body["session"]["status"] == "cancelled"
    assert body["session"]["seats_taken"] == 0 and body["session"]["booked_count"] == 0
    bus_tap.assert_published_after_commit()
    assert bus_tap.events(f"sessions:{sid}") == [("session_cancelled", {"session_id": sid, "status": "cancelled"})]
    assert bus_tap.names(f"notifications:{learner['id']}") == ["session_cancelled"]
    assert bus_tap.names(f"notifications:{second['id']}") == ["session_cancelled"]
    async with people.mentor.app[DB].session() as s:
        bookings = (await s.exec(select(Booking).where(Booking.session_id == sid))).all()
        notes = (await s.exec(select(Notification).where(Notification.kind == "session_cancelled"))).all()
    assert {b.status for b in bookings} == {"cancelled"}
    assert all(b.cancelled_at is not None for b in bookings)
    assert sorted(n.user_id for n in notes) == sorted([learner["id"], second["id"]])
    seen = await people.learner.json("GET", f"/api/sessions/{sid}", 200)
    assert seen["session"]["viewer"]["booking_status"] == "cancelled"
    assert seen["session"]["viewer"]["can_join"] is False


async def test_cancel_closes_at_start_minus_five_and_only_for_its_mentor(people: People, clock: ManualClock) -> None:
    sid = (await create_session(people.mentor))["id"]
    assert (await people.other_mentor.post(f"/api/sessions/{sid}/cancel")).status == 403
    assert (await people.learner.post(f"/api/sessions/{sid}/cancel")).status == 403
    clock.advance(timedelta(minutes=55))
    body = await people.mentor.json("POST", f"/api/sessions/{sid}/cancel", 409)
    assert "5 minutes" in body["error"]
    async with people.mentor.app[DB].session() as s:
        row = await s.get(MentorSession, sid)
    assert row is not None and row.status == "scheduled"


async def test_a_cancelled_session_cannot_be_cancelled_or_edited_again(people: People) -> None:
    sid = (await create_session(people.mentor))["id"]
    await people.mentor.json("POST", f"/api/sessions/{sid}/cancel", 200)
    assert "cancelled" in (await people.mentor.json("POST", f"/api/sessions/{sid}/cancel", 409))["error"]
    assert (await people.mentor.patch(f"/api/sessions/{sid}", json={"title": "Back again"})).status == 409


async def test_cancel_queues_a_refund_for_a_captured_payment(people: People) -> None:
    """refund_paid_bookings hands captured payments to the payments code; free bookings are just cancelled."""
    sid = (await create_session(people.mentor))["id"]
    paid_id = (await people.learner.json("POST", f"/api/sessions/{sid}/bookings", 201))["booking"]["id"]
    free_id = (await people.second_learner.json("POST", f"/api/sessions/{sid}/bookings", 201))["booking"]["id"]
    async with people.mentor.app[DB].session() as s:
        # Stands for a booking paid through Razorpay (the session is free only to keep this test short).
        s.add(Payment(booking_id=paid_id, razorpay_order_id="order_test1", razorpay_payment_id="pay_test1",
                      amount_paise=49900, status="captured", created_at=datetime(2030, 1, 1, tzinfo=UTC)))
        await s.commit()

    body = await people.mentor.json("POST", f"/api/sessions/{sid}/cancel", 200)

    assert (body["session"]["status"], body["session"]["seats_taken"]) == ("cancelled", 0)
    async with people.mentor.app[DB].session() as s:
        paid, free = await s.get(Booking, paid_id), await s.get(Booking, free_id)
        payment = (await s.exec(select(Payment))).one()
        jobs = (await s.exec(select(ScheduledJob).where(ScheduledJob.kind == "payment_refund"))).all()
        notes = (await s.exec(select(Notification).where(Notification.kind == "session_cancelled"))).all()
    assert paid is not None and paid.status == "refunded"
    assert free is not None and free.status == "cancelled"
    assert payment.refund_status == "queued"
    assert [job.args for job in jobs] == [{"payment_id": payment.id}]
    assert len(notes) == 2
