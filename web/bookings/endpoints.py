"""/api/sessions/{id}/bookings: a learner books; the session's mentor lists who booked."""

from __future__ import annotations

from aiohttp import web

from models.enums import BookingStatus, Role
from models.tables import Booking, MentorSession, User
from web.bookings.changes import cancel_booking, move_booking
from web.bookings.queries import bookings_of_session
from web.bookings.schemas import booking_json
from web.bookings.service import PAID_BOOKING_UNAVAILABLE, PAID_BOOKINGS, book_free, check_booking
from web.errors import conflict, not_found
from web.http.body import json_object
from web.http.fields import MAX_ID, integer, row_id
from web.http.identity import Identity, require_identity
from web.keys import DB
from web.mail.service import booking_calendar
from web.sessions.paths import SESSION_ID, session_id_of
from web.sessions.schemas import session_body
from web.sessions.service import own_session

routes = web.RouteTableDef()


@routes.post(f"/api/sessions/{SESSION_ID}/bookings")
async def book(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    row, learner = await check_booking(request.app, identity, session_id_of(request))
    if row.price_paise > 0:
        return await book_paid(request, identity, row)
    booking, view = await book_free(request.app, row, learner)
    body = {"booking": booking_json(booking, learner), "session": session_body(request.app, view, identity)}
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


BOOKING_ID = r"{id:[0-9]+}"


def booking_id_of(request: web.Request) -> int:
    booking_id = row_id(request.match_info["id"])
    if booking_id is None:
        raise not_found("No such booking.")
    return booking_id


@routes.post(f"/api/bookings/{BOOKING_ID}/cancel")
async def cancel(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    done = await cancel_booking(request.app, identity, booking_id_of(request))
    async with request.app[DB].session() as s:
        learner = await s.get(User, identity.user_id)
    assert learner is not None
    return web.json_response({
        "booking": booking_json(done.booking, learner),
        "session": session_body(request.app, done.view, identity),
        "refund": {"amount_paise": done.refund_paise, "percent": done.refund_percent},
    })


@routes.post(f"/api/bookings/{BOOKING_ID}/move")
async def move(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    data = await json_object(request)
    # Ids are 32-bit in PostgreSQL: a larger one is a 400 here, not a 500 from the driver.
    target = integer(data, "session_id", low=1, high=MAX_ID)
    done = await move_booking(request.app, identity, booking_id_of(request), target)
    async with request.app[DB].session() as s:
        learner = await s.get(User, identity.user_id)
    assert learner is not None
    return web.json_response({
        "booking": booking_json(done.booking, learner),
        "from_session": session_body(request.app, done.source, identity),
        "session": session_body(request.app, done.target, identity),
    })


@routes.get(f"/api/bookings/{BOOKING_ID}/calendar.ics")
async def calendar_file(request: web.Request) -> web.Response:
    """The learner's "Add to calendar": the same invite (same UID) their confirmation email carried."""
    identity = await require_identity(request, Role.LEARNER)
    booking_id = booking_id_of(request)
    async with request.app[DB].session() as s:
        booking = await s.get(Booking, booking_id)
        if booking is None or booking.learner_id != identity.user_id:
            raise not_found("No such booking.")
        if booking.status == BookingStatus.PENDING_PAYMENT:
            raise conflict("Finish the payment first; the invite comes with the confirmed booking.")
        calendar = await booking_calendar(s, request.app, booking)
    if calendar is None:
        raise not_found("No such booking.")
    return web.Response(body=calendar.encode("utf-8"), content_type="text/calendar", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="mentorlive-booking-{booking_id}.ics"'})
