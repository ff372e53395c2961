"""Queueing email: a `send_email` job written in the caller's transaction, so a letter goes out exactly
when the change it tells of was committed, and off the request path.

Two ways in:
- `email_user()`: any domain emails one user (subject, words, a link), e.g. "recording ready".
- the notification hook (`setup_mail`): the notifications that matter outside the site (booking
  confirmed, starts soon, cancelled, refunds, recording ready) also go by email; a booking's
  confirmation carries its calendar invite (REQUEST) and its cancellation the CANCEL of that invite.
Without `[email] host` neither queues anything.
"""

from __future__ import annotations

from dataclasses import asdict
from email.utils import parseaddr
from typing import Any

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus
from models.tables import Booking, MentorSession, Notification, User
from web.keys import CLOCK, CONFIG
from web.mail.calendar import CANCEL, REQUEST, Invite, render_invite
from web.mail.letters import Letter, local_time, render, session_end
from web.mail.settings import mail_settings, public_origin
from web.realtime.outbox import NOTIFICATION_HOOKS
from workers.scheduler import schedule_job

SEND_EMAIL = "send_email"
# Notification kinds that also go by email, and whether they add or withdraw the booking's invite.
INVITE_KINDS = {"booking_confirmed": REQUEST, "booking_moved": REQUEST, "session_cancelled": CANCEL,
                "booking_cancelled": CANCEL}
BOOKING_KINDS = {*INVITE_KINDS, "session_reminder"}
PLAIN_KINDS = frozenset({"refund_started", "refund_processed", "refund_delayed", "recording_ready",
                         "request_scheduled"})


def mail_enabled(app: web.Application) -> bool:
    return mail_settings(app[CONFIG]) is not None


def queue_letter(s: AsyncSession, app: web.Application, letter: Letter) -> None:
    """Write the `send_email` job in the caller's transaction (the caller commits)."""
    now = app[CLOCK].now()
    schedule_job(s, kind=SEND_EMAIL, args={"letter": asdict(letter)}, due_at=now, now=now)


async def email_user(s: AsyncSession, app: web.Application, *, user_id: int, subject: str, text: str,
                     link: tuple[str, str] | None = None) -> bool:
    """Email one user in the caller's transaction: `text` (paragraphs split on blank lines) as plain text and
    HTML, with a (label, path-or-URL) call to action (default: their dashboard). False when email is off or
    the user is gone."""
    if not mail_enabled(app):
        return False
    user = await s.get(User, user_id)
    if user is None:
        return False
    origin = public_origin(app[CONFIG])
    link = link or ("Open MentorLive", f"/dashboard/{user.role}")
    if link[1].startswith("/"):
        link = (link[0], origin + link[1])
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    queue_letter(s, app, render(user.email, subject, f"Hi {user.name},", paragraphs, link))
    return True


async def _booking_of(s: AsyncSession, note: Notification) -> Booking | None:
    booking_id = note.data.get("booking_id")
    if booking_id is not None:
        return await s.get(Booking, int(booking_id))
    session_id = note.data.get("session_id")
    if session_id is None:
        return None
    return (await s.exec(select(Booking).where(
        col(Booking.session_id) == int(session_id), col(Booking.learner_id) == note.user_id))).first()


async def booking_letter(s: AsyncSession, app: web.Application, booking: Booking, kind: str) -> Letter | None:
    """The email for a booking's confirmation, reminder or cancellation, as its learner reads it."""
    session = await s.get(MentorSession, booking.session_id)
    learner = await s.get(User, booking.learner_id)
    mentor = await s.get(User, session.mentor_id) if session else None
    settings = mail_settings(app[CONFIG])
    if session is None or learner is None or mentor is None or settings is None:
        return None
    origin = public_origin(app[CONFIG])
    join = f"{origin}/session/{session.room_code}/"
    when = local_time(session.start_at, learner.timezone)
    method = INVITE_KINDS.get(kind)
    calendar = None
    if method is not None:
        calendar = render_invite(booking_invite(booking, session, learner, mentor, method, app, join,
                                                settings.sender_address, moved=kind == "booking_moved"))
    greeting = f"Hi {learner.name},"
    if kind == "booking_confirmed":
        return render(learner.email, f"Booking confirmed: {session.title}", greeting, [
            f"You're booked for “{session.title}” with {mentor.name}.",
            f"When: {when} · {session.duration_minutes} minutes.",
            "Join from the link below; it opens 5 minutes before the start. The attached invite adds it "
            "to your calendar.",
        ], ("Join the session", join), calendar=calendar, calendar_method=method)
    if kind == "session_reminder":
        return render(learner.email, f"Starts soon: {session.title}", greeting, [
            f"“{session.title}” with {mentor.name} starts {when}.",
        ], ("Join the session", join))
    if kind == "booking_moved":
        return render(learner.email, f"Booking moved: {session.title}", greeting, [
            f"Your booking now is “{session.title}” with {mentor.name}.",
            f"When: {when} · {session.duration_minutes} minutes.",
            "The attached invite updates the event already in your calendar.",
        ], ("Join the session", join), calendar=calendar, calendar_method=method)
    reason = "was cancelled by the mentor" if kind == "session_cancelled" else "was cancelled"
    return render(learner.email, f"Cancelled: {session.title}", greeting, [
        f"Your booking for “{session.title}” on {when} {reason}.",
        "If you paid, the refund is on its way; we'll email you when it's done.",
    ], ("Find another session", f"{origin}/dashboard/learner?tab=scheduled"),
        calendar=calendar, calendar_method=method)


async def booking_calendar(s: AsyncSession, app: web.Application, booking: Booking) -> str | None:
    """The booking's invite as a file (`GET /api/bookings/{id}/calendar.ics`): REQUEST while it holds a
    seat, CANCEL once it does not. Needs no `[email]`: the organizer's address is `[email] from`."""
    session = await s.get(MentorSession, booking.session_id)
    learner = await s.get(User, booking.learner_id)
    mentor = await s.get(User, session.mentor_id) if session else None
    if session is None or learner is None or mentor is None:
        return None
    method = REQUEST if booking.status == BookingStatus.CONFIRMED else CANCEL
    join = f"{public_origin(app[CONFIG])}/session/{session.room_code}/"
    sender = parseaddr(app[CONFIG].str("email", "from"))[1] or "no-reply@mentorlive.local"
    return render_invite(booking_invite(booking, session, learner, mentor, method, app, join, sender))


def booking_invite(booking: Booking, session: MentorSession, learner: User, mentor: User, method: str,
                   app: web.Application, join: str, organizer_email: str, *, moved: bool = False) -> Invite:
    assert booking.id is not None
    changes = [session.updated_at, booking.confirmed_at, booking.created_at]
    if method == CANCEL:
        changes += [booking.cancelled_at or app[CLOCK].now()]
    if moved:
        # A move changes the event's time without touching those columns: this is its change.
        changes.append(app[CLOCK].now())
    changed_at = max(c for c in changes if c is not None)
    return Invite(
        booking_id=booking.id, method=method, start=session.start_at, end=session_end(session),
        title=f"{session.title} · MentorLive", description=f"With {mentor.name}.\nJoin: {join}", url=join,
        organizer_name=mentor.name, organizer_email=organizer_email, attendee_name=learner.name,
        attendee_email=learner.email, changed_at=changed_at, stamp=app[CLOCK].now(),
    )


async def _on_notification(app: web.Application, s: AsyncSession, note: Notification) -> None:
    if note.kind not in BOOKING_KINDS and note.kind not in PLAIN_KINDS:
        return
    if not mail_enabled(app):
        return
    if note.kind in BOOKING_KINDS:
        booking = await _booking_of(s, note)
        # The mentor's copy of the same news (a learner cancelled or moved) is not the learner's letter.
        if booking is None or booking.learner_id != note.user_id:
            return
        letter = await booking_letter(s, app, booking, note.kind)
        if letter is not None:
            queue_letter(s, app, letter)
        return
    link_path = str(note.data["url"]) if note.data.get("url") else None
    await email_user(s, app, user_id=note.user_id, subject=note.title, text=note.body or note.title,
                     link=("Open MentorLive", link_path) if link_path else None)


def setup_mail(app: web.Application) -> None:
    """Let notifications that matter outside the site go by email too (web.realtime.outbox calls this)."""

    async def hook(s: AsyncSession, note: Notification) -> None:
        await _on_notification(app, s, note)

    app.setdefault(NOTIFICATION_HOOKS, []).append(hook)


def letter_from_args(args: dict[str, Any]) -> Letter:
    return Letter(**args["letter"])
