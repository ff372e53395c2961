"""What a mentor does to a session: create, edit, cancel (Go Live and End are in web.room.service).

Each function checks the rule for the action (models.rules) in a first, read-only database
session, then writes in one unit of work with a conditional UPDATE, so a concurrent change cannot
slip between the check and the write. The events the change causes are queued in the unit of work
and published once, after its commit. Each returns the session's view read inside its transaction,
for the caller to answer with: two database sessions per action.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import rules
from models.enums import BookingStatus, LiveRequestStatus, SessionStatus
from models.tables import Booking, LiveRequest, MentorProfile, MentorSession, Notification
from web.errors import ApiError, conflict, forbidden
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG, DB
from web.realtime.channels import learner_channel, session_channel
from web.realtime.outbox import UnitOfWork, unit_of_work
from web.sessions.form import FormInput, session_values
from web.sessions.queries import confirmed_counts, fresh_view, get_session_row
from web.sessions.room_codes import new_room_code
from web.sessions.schemas import SessionView, neutral_session_json
from web.sessions.thumbnails import delete_thumbnail, prepare_thumbnail, store_thumbnail, thumbnail_settings
from web.sessions.timing import facts_of, time_settings


class CancelBookings(Protocol):
    async def __call__(self, s: AsyncSession, session: MentorSession, now: datetime) -> Sequence[Booking]:
        """End every booking holding a seat on `session`, which is being cancelled, in the caller's
        transaction (seats released, paid ones refunded); returns them. The caller commits."""
        ...


# Filled by the bookings domain at app creation (web.bookings.service.setup_bookings): sessions never
# import bookings, whose rules sit above them.
CANCEL_BOOKINGS: web.AppKey[CancelBookings] = web.AppKey("cancel_bookings")


async def own_session(s: AsyncSession, session_id: int, identity: Identity) -> MentorSession:
    row = await get_session_row(s, session_id)
    if row.mentor_id != identity.user_id:
        raise forbidden("This is not your session.")
    return row


async def facts_for(s: AsyncSession, row: MentorSession) -> rules.SessionFacts:
    assert row.id is not None
    return facts_of(row, (await confirmed_counts(s, [row.id])).get(row.id, 0))


def require(decision: rules.Decision) -> None:
    if not decision:
        raise conflict(decision.reason)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def _save_thumbnail(app: web.Application, form: FormInput) -> str | None:
    """Render and store the upload before any row is written, so a bad image saves nothing."""
    if form.thumbnail is None:
        return None
    settings = thumbnail_settings(app[CONFIG])
    return store_thumbnail(await prepare_thumbnail(app, form.thumbnail, settings), settings)


async def create_session(app: web.Application, identity: Identity, form: FormInput) -> SessionView:
    db, now, config = app[DB], app[CLOCK].now(), app[CONFIG]
    async with db.session() as s:
        profile = await s.get(MentorProfile, identity.user_id)
    values = session_values(
        form.fields,
        now,
        creating=True,
        default_duration=profile.default_duration_minutes if profile else 60,
        default_record=config.bool("media", "record_by_default"),
    )
    thumbnail = await _save_thumbnail(app, form)
    notes: list[Notification] = []
    try:
        async with unit_of_work(app) as work:
            s = work.s
            row = MentorSession(
                mentor_id=identity.user_id,
                room_code=new_room_code(),
                thumbnail_path=thumbnail,
                status=SessionStatus.SCHEDULED,
                created_at=now,
                updated_at=now,
                **values.columns,
            )
            if values.live_request_id is not None:
                request_row = await _schedule_live_request(s, values.live_request_id, identity, now)
                row.live_request_id = request_row.id
                notes.append(await work.notify(
                    user_id=request_row.learner_id, kind="request_scheduled",
                    title="Your live request is scheduled",
                    body=f"“{row.title}” was scheduled from your request. Book it to take part.",
                    data={"live_request_id": request_row.id},
                ))
            s.add(row)
            await s.flush()
            for note in notes:
                note.data = {**note.data, "session_id": row.id}
                s.add(note)
                # The learner's request list turns to "Scheduled" with a link and Book ▶ at once.
                work.publish(learner_channel(note.user_id), "request_scheduled", {
                    "live_request_id": row.live_request_id, "session_id": row.id, "title": row.title})
            assert row.id is not None
            view = await fresh_view(s, row.id, identity)
            await s.commit()
    except BaseException:
        delete_thumbnail(thumbnail, thumbnail_settings(config))
        raise
    return view


async def _schedule_live_request(s: AsyncSession, request_id: int, identity: Identity, now: datetime) -> LiveRequest:
    """Mark an accepted request scheduled, once: the conditional UPDATE refuses a second session for it."""
    result = await s.execute(
        update(LiveRequest)
        .where(
            col(LiveRequest.id) == request_id,
            col(LiveRequest.mentor_id) == identity.user_id,
            col(LiveRequest.status) == LiveRequestStatus.ACCEPTED,
        )
        .values(status=LiveRequestStatus.SCHEDULED)
    )
    found = await s.get(LiveRequest, request_id, populate_existing=True)
    if _rowcount(result) != 1:
        # Read before the rollback, which expires every loaded object.
        theirs = found is not None and found.mentor_id == identity.user_id
        status = found.status if found is not None else ""
        await s.rollback()
        if not theirs:
            raise ApiError(404, "No such live request.", field="live_request_id")
        raise conflict(f"This live request is {status}; only an accepted one can be scheduled.", "live_request_id")
    assert found is not None
    return found


async def edit_session(app: web.Application, identity: Identity, session_id: int, form: FormInput) -> SessionView:
    db, now = app[DB], app[CLOCK].now()
    settings = time_settings(app[CONFIG])
    async with db.session() as s:
        row = await own_session(s, session_id, identity)
        require(rules.can_edit(await facts_for(s, row), now, settings))
    fields = form.fields if "timezone" in form.fields else {**form.fields, "timezone": row.timezone}
    values = session_values(fields, now, creating=False)
    changes = dict(values.columns)
    if "capacity" in changes and changes["capacity"] < row.seats_taken:
        raise conflict(f"{row.seats_taken} seats are already booked; capacity can't go below that.", "capacity")
    price_changes = "price_paise" in changes and changes["price_paise"] != row.price_paise
    if price_changes and row.seats_taken > 0:
        raise conflict("The price can't change once learners have booked.", "price_paise")
    thumbnail = await _save_thumbnail(app, form)
    if thumbnail is not None:
        changes["thumbnail_path"] = thumbnail
    changes["updated_at"] = now
    conditions = [
        col(MentorSession.id) == session_id,
        col(MentorSession.status) == SessionStatus.SCHEDULED,
        # The edit window was judged against this start; a concurrent edit must be judged again.
        col(MentorSession.start_at) == row.start_at,
    ]
    if "capacity" in changes:
        conditions.append(col(MentorSession.seats_taken) <= changes["capacity"])
    if price_changes:
        conditions.append(col(MentorSession.seats_taken) == 0)
    try:
        async with unit_of_work(app) as work:
            result = await work.s.execute(update(MentorSession).where(*conditions).values(**changes))
            if _rowcount(result) != 1:
                await work.s.rollback()
                raise conflict("This session changed while you were editing it. Reload and try again.")
            view = await updated_view(work, session_id, identity)
            await work.s.commit()
    except BaseException:
        delete_thumbnail(thumbnail, thumbnail_settings(app[CONFIG]))
        raise
    if thumbnail is not None:
        delete_thumbnail(row.thumbnail_path, thumbnail_settings(app[CONFIG]))
    return view


async def updated_view(work: UnitOfWork, session_id: int, viewer: Identity | None) -> SessionView:
    """Read the session as it now stands and queue `session_updated` (the fields every viewer sees alike)."""
    view = await fresh_view(work.s, session_id, viewer)
    work.publish(session_channel(session_id), "session_updated",
                 neutral_session_json(view, time_settings(work.app[CONFIG])))
    return view


async def cancel_session(app: web.Application, identity: Identity, session_id: int) -> SessionView:
    db = app[DB]
    now = app[CLOCK].now()
    settings = time_settings(app[CONFIG])
    async with db.session() as s:
        row = await own_session(s, session_id, identity)
        require(rules.can_cancel(await facts_for(s, row), now, settings))
    async with unit_of_work(app) as work:
        s = work.s
        await transition(s, session_id, still_scheduled(row), CHANGED_MEANWHILE,
                         status=SessionStatus.CANCELLED, updated_at=now)
        current = await get_session_row(s, session_id)
        cancelled = await app[CANCEL_BOOKINGS](s, current, now)
        work.publish(session_channel(session_id), "session_cancelled",
                     {"session_id": session_id, "status": "cancelled"})
        for booking in cancelled:
            await work.notify(user_id=booking.learner_id, kind="session_cancelled", title="Session cancelled",
                              body=f"“{row.title}” was cancelled by the mentor.", data={"session_id": session_id})
        view = await fresh_view(s, session_id, identity)
        await s.commit()
    return view


CHANGED_MEANWHILE = "This session changed meanwhile. Reload and try again."


def still_scheduled(row: MentorSession) -> list[Any]:
    # The rule was judged against this start: an edit landing in between must be judged again.
    return [col(MentorSession.status) == SessionStatus.SCHEDULED, col(MentorSession.start_at) == row.start_at]


async def transition(s: AsyncSession, session_id: int, where: list[Any], conflict_message: str,
                      **values: Any) -> None:
    """Move the session with one guarded UPDATE; 409 (rolled back) when someone moved it first."""
    result = await s.execute(
        update(MentorSession).where(col(MentorSession.id) == session_id, *where).values(**values)
    )
    if _rowcount(result) != 1:
        await s.rollback()
        raise conflict(conflict_message)


async def confirmed_learners(s: AsyncSession, session_id: int) -> list[int]:
    rows = await s.exec(
        select(Booking.learner_id).where(  # type: ignore[call-overload]
            col(Booking.session_id) == session_id, col(Booking.status) == BookingStatus.CONFIRMED
        )
    )
    return [int(x) for x in rows.all()]
