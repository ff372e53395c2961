"""/api/sessions/{id}/bookings: a learner books; the session's mentor lists who booked."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from models import rules
from models.enums import BookingStatus, Role
from models.tables import MentorSession, User
from web.bookings.announce import announce_confirmed
from web.bookings.queries import bookings_of_session
from web.bookings.schemas import booking_json
from web.bookings.service import PAID_BOOKING_UNAVAILABLE, PAID_BOOKINGS, book_free
from web.bookings.tasks import schedule_session_reminder
from web.errors import conflict, forbidden
from web.http.identity import Identity, require_identity
from web.keys import CLOCK, DB
from web.sessions.paths import SESSION_ID, session_id_of
from web.sessions.queries import bookings_of, get_session_row, load_session_body
from web.sessions.service import own_session
from web.sessions.timing import facts_of

routes = web.RouteTableDef()


@routes.post(f"/api/sessions/{SESSION_ID}/bookings")
async def book(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    session_id = session_id_of(request)
    db, clock = request.app[DB], request.app[CLOCK]
    async with db.session() as s:
        row = await get_session_row(s, session_id)
        learner = await s.get(User, identity.user_id)
        if learner is None:
            raise forbidden("Your account no longer exists.")
        status = (await bookings_of(s, identity.user_id, [session_id])).get(session_id)
    if row.mentor_id == identity.user_id:
        raise forbidden("You can't book your own session.")
    # Book ▶ again on a paid session with an unpaid hold resumes that checkout instead of refusing it.
    resuming = row.price_paise > 0 and status == BookingStatus.PENDING_PAYMENT
    facts = facts_of(row)
    if resuming:
        # That hold is one of the seats taken: a session it fills is not full to its own learner.
        facts = dataclasses.replace(facts, seats_taken=max(0, facts.seats_taken - 1))
    decision = rules.can_book(facts, clock.now(), learner_id=identity.user_id,
                              booking_status=None if resuming else status)
    if not decision:
        raise conflict(decision.reason)
    if row.price_paise > 0:
        return await book_paid(request, identity, row)
    async with db.session() as s:
        booking, notes = await book_free(s, clock, row, learner)
        schedule_session_reminder(request.app, s, mentor_session=row, learner_id=identity.user_id)
        await s.commit()
    await announce_confirmed(request.app, row, learner, booking, notes)
    body = {"booking": booking_json(booking, learner),
            "session": await load_session_body(request.app, identity, session_id)}
    return web.json_response(body, status=201)


async def book_paid(request: web.Request, identity: Identity, row: MentorSession) -> web.Response:
    """The one place paid bookings enter: the payments code registers its flow under PAID_BOOKINGS."""
    flow = request.app.get(PAID_BOOKINGS)
    if flow is None:
        raise conflict(PAID_BOOKING_UNAVAILABLE)
    return await flow.start(request, identity, row)


@routes.get(f"/api/sessions/{SESSION_ID}/bookings")
async def list_bookings(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    session_id = session_id_of(request)
    async with request.app[DB].session() as s:
        await own_session(s, session_id, identity)
        bookings = await bookings_of_session(s, session_id)
    return web.json_response({"bookings": bookings})
