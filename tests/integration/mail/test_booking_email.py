"""Booking emails and calendar invites, received by a real SMTP server and parsed: confirmation with a
REQUEST invite, the reminder, the mentor's cancellation with the CANCEL of the same invite, a DST week
in the learner's zone, and the downloadable .ics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from models.clock import ManualClock
from models.tables import ScheduledJob
from tests.integration.mail.smtp_server import SmtpServer, calendar_fields, part, text_of
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient, sign_up
from web.jobs import JOB_RUNNER
from web.keys import DB
from web.mail.service import SEND_EMAIL, email_user
from web.realtime.outbox import unit_of_work

NewApi = Callable[[], Awaitable[ApiClient]]


async def mentor_and_learner(api: ApiClient, new_api: NewApi, timezone: str = "Asia/Kolkata") -> ApiClient:
    await sign_up(api, "mentor", "maya@example.com")
    learner = await new_api()
    await sign_up(learner, "learner", "lena@example.com", timezone=timezone)
    return learner


async def run_jobs(api: ApiClient) -> None:
    await api.app[JOB_RUNNER].run_due()


async def book(learner: ApiClient, session_id: int) -> dict[str, Any]:
    body: dict[str, Any] = await learner.json("POST", f"/api/sessions/{session_id}/bookings", 201)
    return body


async def test_confirmation_email_has_text_html_local_time_join_link_and_a_request_invite(
        api: ApiClient, new_api: NewApi, smtp: SmtpServer) -> None:
    learner = await mentor_and_learner(api, new_api)
    session = await create_session(api, title="Designing resilient APIs", start_at="2030-01-01T10:00:00Z")
    booked = await book(learner, session["id"])
    booking_id = booked["booking"]["id"]
    assert smtp.inbox.messages() == [], "nothing is sent on the request path"
    await run_jobs(api)
    [message] = smtp.inbox.wait_for(1)

    assert message["To"] == "lena@example.com" and "no-reply@mentorlive.test" in message["From"]
    assert message["Subject"] == "Booking confirmed: Designing resilient APIs"
    text, html = text_of(message), text_of(message, "text/html")
    # 10:00 UTC is 15:30 in Kolkata, the learner's zone.
    assert "Tuesday 1 January 2030, 15:30 IST (Asia/Kolkata)" in text
    room = (await learner.json("GET", f"/api/sessions/{session['id']}", 200))["session"]["room_code"]
    join = f"http://127.0.0.1:8080/session/{room}/"
    assert join in text and f'href="{join}"' in html and "Maya Mentor" in html

    invite = part(message, "text/calendar")
    assert invite.get_param("method") == "REQUEST"
    fields = calendar_fields(invite.get_content())
    assert fields["METHOD"] == "REQUEST" and fields["STATUS"] == "CONFIRMED"
    assert fields["UID"] == f"booking-{booking_id}@mentorlive"
    assert (fields["DTSTART"], fields["DTEND"]) == ("20300101T100000Z", "20300101T110000Z")
    assert fields["URL"] == join and fields["ATTENDEE"] == "mailto:lena@example.com"
    attachments = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert len(attachments) == 1, "the invite also comes as a file"

    # "Add to calendar" on the card downloads the same event.
    card = (await learner.json("GET", f"/api/sessions/{session['id']}", 200))["session"]
    assert card["viewer"]["calendar_url"] == f"/api/bookings/{booking_id}/calendar.ics"
    response = await learner.get(card["viewer"]["calendar_url"])
    assert response.status == 200 and response.content_type == "text/calendar"
    downloaded = calendar_fields(await response.text())
    assert downloaded["UID"] == fields["UID"] and downloaded["DTSTART"] == fields["DTSTART"]


async def test_mentor_cancel_sends_a_cancel_of_the_same_invite(api: ApiClient, new_api: NewApi,
                                                               smtp: SmtpServer, clock: ManualClock) -> None:
    learner = await mentor_and_learner(api, new_api)
    session = await create_session(api, title="Cancelled later", start_at="2030-01-02T10:00:00Z")
    booking_id = (await book(learner, session["id"]))["booking"]["id"]
    await run_jobs(api)
    [confirmation] = smtp.inbox.wait_for(1)
    request = calendar_fields(part(confirmation, "text/calendar").get_content())
    clock.advance(timedelta(minutes=10))
    await api.json("POST", f"/api/sessions/{session['id']}/cancel", 200)
    await run_jobs(api)
    cancelled = smtp.inbox.wait_for(2)[1]
    assert cancelled["Subject"] == "Cancelled: Cancelled later"
    assert "was cancelled by the mentor" in text_of(cancelled)
    invite = part(cancelled, "text/calendar")
    assert invite.get_param("method") == "CANCEL"
    fields = calendar_fields(invite.get_content())
    assert fields["UID"] == request["UID"] == f"booking-{booking_id}@mentorlive", "the UID is stable"
    assert (fields["METHOD"], fields["STATUS"]) == ("CANCEL", "CANCELLED")
    assert int(fields["SEQUENCE"]) > int(request["SEQUENCE"]), "the cancel supersedes the request"
    downloaded = calendar_fields(await (await learner.get(f"/api/bookings/{booking_id}/calendar.ics")).text())
    assert downloaded["METHOD"] == "CANCEL" and downloaded["UID"] == request["UID"]


async def test_times_are_right_on_both_sides_of_a_daylight_saving_change(api: ApiClient, new_api: NewApi,
                                                                         smtp: SmtpServer) -> None:
    """Berlin moves to summer time on Sunday 31 March 2030: 10:00 UTC is 11:00 on Saturday, 12:00 on Monday."""
    learner = await mentor_and_learner(api, new_api, timezone="Europe/Berlin")
    before = await create_session(api, title="Saturday", start_at="2030-03-30T10:00:00Z", timezone="Europe/Berlin")
    after = await create_session(api, title="Monday", start_at="2030-04-01T10:00:00Z", timezone="Europe/Berlin")
    await book(learner, before["id"])
    await book(learner, after["id"])
    await run_jobs(api)
    by_subject = {m["Subject"]: m for m in smtp.inbox.wait_for(2)}
    saturday, monday = by_subject["Booking confirmed: Saturday"], by_subject["Booking confirmed: Monday"]
    assert "Saturday 30 March 2030, 11:00 CET (Europe/Berlin)" in text_of(saturday)
    assert "Monday 1 April 2030, 12:00 CEST (Europe/Berlin)" in text_of(monday)
    # In the invite, both stay the instant they are: a calendar in any zone places them right.
    assert calendar_fields(part(saturday, "text/calendar").get_content())["DTSTART"] == "20300330T100000Z"
    assert calendar_fields(part(monday, "text/calendar").get_content())["DTSTART"] == "20300401T100000Z"


async def test_reminder_email_before_the_start(api: ApiClient, new_api: NewApi, smtp: SmtpServer,
                                               clock: ManualClock) -> None:
    learner = await mentor_and_learner(api, new_api)
    session = await create_session(api, title="Remind me", start_at="2030-01-01T12:00:00Z")
    await book(learner, session["id"])
    await run_jobs(api)
    smtp.inbox.wait_for(1)
    clock.set(datetime(2030, 1, 1, 11, 31, tzinfo=UTC))
    await run_jobs(api)
    reminder = smtp.inbox.wait_for(2)[1]
    assert reminder["Subject"] == "Starts soon: Remind me"
    assert "17:30 IST" in text_of(reminder) and "/session/" in text_of(reminder)


async def test_any_domain_can_email_a_user(api: ApiClient, new_api: NewApi, smtp: SmtpServer) -> None:
    learner = await mentor_and_learner(api, new_api)
    learner_id = (await learner.json("GET", "/api/me", 200))["id"]
    async with unit_of_work(api.app) as work:
        assert await email_user(work.s, api.app, user_id=learner_id, subject="Your recording is ready",
                                text="“Designing APIs” can be watched now.\n\nIt stays for 30 days.",
                                link=("Watch it", "/dashboard/learner?booked=past"))
        await work.s.commit()
    await run_jobs(api)
    [message] = smtp.inbox.wait_for(1)
    assert message["Subject"] == "Your recording is ready"
    assert "It stays for 30 days." in text_of(message)
    assert 'href="http://127.0.0.1:8080/dashboard/learner?booked=past"' in text_of(message, "text/html")


async def test_a_letter_whose_transaction_rolls_back_is_never_sent(api: ApiClient, new_api: NewApi,
                                                                   smtp: SmtpServer) -> None:
    learner = await mentor_and_learner(api, new_api)
    learner_id = (await learner.json("GET", "/api/me", 200))["id"]
    async with unit_of_work(api.app) as work:
        await email_user(work.s, api.app, user_id=learner_id, subject="Never", text="Rolled back.")
        await work.s.rollback()
    await run_jobs(api)
    async with api.app[DB].session() as s:
        assert (await s.exec(select(ScheduledJob).where(ScheduledJob.kind == SEND_EMAIL))).all() == []
    assert smtp.inbox.messages() == []


async def test_learner_cancel_and_move_update_the_same_invite_and_email_only_the_learner(
        api: ApiClient, new_api: NewApi, smtp: SmtpServer, clock: ManualClock) -> None:
    learner = await mentor_and_learner(api, new_api)
    first = await create_session(api, title="First slot", start_at="2030-01-03T10:00:00Z")
    second = await create_session(api, title="Second slot", start_at="2030-01-04T10:00:00Z")
    booking_id = (await book(learner, first["id"]))["booking"]["id"]
    await run_jobs(api)
    request = calendar_fields(part(smtp.inbox.wait_for(1)[0], "text/calendar").get_content())

    clock.advance(timedelta(minutes=5))
    await learner.json("POST", f"/api/bookings/{booking_id}/move", 200, json={"session_id": second["id"]})
    await run_jobs(api)
    moved = smtp.inbox.wait_for(2)[1]
    assert moved["Subject"] == "Booking moved: Second slot" and moved["To"] == "lena@example.com"
    update = calendar_fields(part(moved, "text/calendar").get_content())
    assert (update["METHOD"], update["UID"], update["DTSTART"]) == (
        "REQUEST", request["UID"], "20300104T100000Z"), "the same event, at its new time"
    assert int(update["SEQUENCE"]) > int(request["SEQUENCE"])

    clock.advance(timedelta(minutes=5))
    await learner.json("POST", f"/api/bookings/{booking_id}/cancel", 200)
    await run_jobs(api)
    messages = smtp.inbox.wait_for(3)
    cancelled = messages[2]
    assert cancelled["Subject"] == "Cancelled: Second slot"
    fields = calendar_fields(part(cancelled, "text/calendar").get_content())
    assert (fields["METHOD"], fields["UID"]) == ("CANCEL", request["UID"])
    assert int(fields["SEQUENCE"]) > int(update["SEQUENCE"])
    assert [m["To"] for m in smtp.inbox.messages()] == ["lena@example.com"] * 3, \
        "the mentor's copies of the learner's changes are not sent to the learner"
