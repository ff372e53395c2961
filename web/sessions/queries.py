"""Reading sessions for the API: one session or a tab's list, with what their JSON needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import BookingStatus, Role, SessionStatus
from models.rules import HOLDING_SEAT
from models.tables import Booking, MentorProfile, MentorSession, User
from web.errors import bad_request, forbidden, not_found, unauthorized
from web.http.identity import Identity
from web.keys import DB
from web.sessions.schemas import SessionView, session_body
from web.sessions.timing import end_of

BROWSE_TABS = ("recommended", "scheduled", "live")
MINE_TABS = ("upcoming", "live", "past")
LIST_LIMIT = 100


async def confirmed_counts(s: AsyncSession, session_ids: Sequence[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = await s.execute(
        select(col(Booking.session_id), func.count())
        .where(col(Booking.session_id).in_(session_ids), col(Booking.status) == BookingStatus.CONFIRMED)
        .group_by(col(Booking.session_id))
    )
    return {int(session_id): int(count) for session_id, count in rows.all()}


async def bookings_of(s: AsyncSession, learner_id: int, session_ids: Sequence[int]) -> dict[int, str]:
    if not session_ids:
        return {}
    rows = await s.execute(
        select(col(Booking.session_id), col(Booking.status)).where(
            col(Booking.learner_id) == learner_id, col(Booking.session_id).in_(session_ids)
        )
    )
    return {int(session_id): str(status) for session_id, status in rows.all()}


async def booking_rows_of(s: AsyncSession, learner_id: int, session_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """The learner's booking on each session: its status and id (the card's Cancel and Move need the id)."""
    if not session_ids:
        return {}
    rows = await s.execute(
        select(col(Booking.session_id), col(Booking.status), col(Booking.id)).where(
            col(Booking.learner_id) == learner_id, col(Booking.session_id).in_(session_ids)
        )
    )
    return {int(session_id): (str(status), int(booking_id)) for session_id, status, booking_id in rows.all()}


async def build_views(
    s: AsyncSession, sessions: Sequence[MentorSession], viewer: Identity | None
) -> list[SessionView]:
    ids = [x.id for x in sessions if x.id is not None]
    mentor_ids = list({x.mentor_id for x in sessions})
    users = {u.id: u for u in (await s.execute(select(User).where(col(User.id).in_(mentor_ids)))).scalars()}
    profiles = {
        p.user_id: p
        for p in (await s.execute(select(MentorProfile).where(col(MentorProfile.user_id).in_(mentor_ids)))).scalars()
    }
    counts = await confirmed_counts(s, ids)
    mine: dict[int, tuple[str, int]] = {}
    if viewer is not None and viewer.role == Role.LEARNER:
        mine = await booking_rows_of(s, viewer.user_id, ids)
    return [
        SessionView(
            session=x,
            mentor=users[x.mentor_id],
            mentor_profile=profiles.get(x.mentor_id),
            confirmed_bookings=counts.get(x.id or 0, 0),
            viewer_booking=mine[x.id or 0][0] if (x.id or 0) in mine else None,
            viewer_booking_id=mine[x.id or 0][1] if (x.id or 0) in mine else None,
        )
        for x in sessions
    ]


async def get_session_row(s: AsyncSession, session_id: int) -> MentorSession:
    row = await s.get(MentorSession, session_id)
    if row is None:
        raise not_found("No such session.")
    return row


async def get_view(s: AsyncSession, session_id: int, viewer: Identity | None) -> SessionView:
    row = await get_session_row(s, session_id)
    return (await build_views(s, [row], viewer))[0]


async def fresh_view(s: AsyncSession, session_id: int, viewer: Identity | None) -> SessionView:
    """The view as this transaction now sees it: a service reads it after its writes, before its commit,
    and returns it (and publishes it), so nobody opens another session to read back what was written."""
    row = await s.get(MentorSession, session_id, populate_existing=True)
    if row is None:
        raise not_found("No such session.")
    return (await build_views(s, [row], viewer))[0]


async def load_session_body(app: web.Application, viewer: Identity | None, session_id: int) -> dict[str, Any]:
    """Read one session and render it for `viewer` (for callers that have not loaded its view already)."""
    async with app[DB].session() as s:
        view = await get_view(s, session_id, viewer)
    return session_body(app, view, viewer)


async def browse(s: AsyncSession, tab: str, now: datetime, viewer: Identity | None) -> list[SessionView]:
    if tab not in BROWSE_TABS:
        raise bad_request(f"Tab must be one of: {', '.join(BROWSE_TABS)}.", "tab")
    if tab == "live":
        query = (
            select(MentorSession)
            .where(col(MentorSession.status) == SessionStatus.LIVE)
            .order_by(col(MentorSession.start_at), col(MentorSession.id))
        )
        return await build_views(s, (await s.execute(query.limit(LIST_LIMIT))).scalars().all(), viewer)
    upcoming = (
        select(MentorSession)
        .where(col(MentorSession.status) == SessionStatus.SCHEDULED, col(MentorSession.start_at) > now)
        .order_by(col(MentorSession.start_at), col(MentorSession.id))
    )
    if tab == "scheduled":
        return await build_views(s, (await s.execute(upcoming.limit(LIST_LIMIT))).scalars().all(), viewer)
    if viewer is None:
        raise unauthorized("Sign in as a learner to see recommendations.")
    if viewer.role != Role.LEARNER:
        raise forbidden("Recommendations are for learners.")
    # The candidates, in start order: full sessions and those the learner holds a seat in never qualify.
    # Ranking them is the recommend domain's job (RECOMMENDER, registered at app creation).
    candidates = (await s.execute(
        upcoming.where(col(MentorSession.seats_taken) < col(MentorSession.capacity)).limit(LIST_LIMIT * 5)
    )).scalars().all()
    views = await build_views(s, candidates, viewer)
    # Already booked sessions live under "My sessions"; recommending them again is noise.
    return [view for view in views if view.viewer_booking not in HOLDING_SEAT]


async def mine(s: AsyncSession, tab: str, now: datetime, viewer: Identity) -> list[SessionView]:
    """A mentor's own sessions, or a learner's booked ones, split by where they stand in time."""
    if tab not in MINE_TABS:
        raise bad_request(f"Tab must be one of: {', '.join(MINE_TABS)}.", "tab")
    query = select(MentorSession)
    if viewer.role == Role.MENTOR:
        query = query.where(col(MentorSession.mentor_id) == viewer.user_id)
    elif viewer.role == Role.LEARNER:
        booked = select(col(Booking.session_id)).where(
            col(Booking.learner_id) == viewer.user_id,
            or_(col(Booking.status).in_(HOLDING_SEAT), col(MentorSession.status) == SessionStatus.CANCELLED),
        )
        query = query.where(col(MentorSession.id).in_(booked.scalar_subquery()))
    else:
        raise forbidden("My sessions are for mentors and learners.")
    if tab == "live":
        query = query.where(col(MentorSession.status) == SessionStatus.LIVE).order_by(col(MentorSession.start_at))
        rows = (await s.execute(query.limit(LIST_LIMIT))).scalars().all()
    elif tab == "upcoming":
        query = query.where(col(MentorSession.status) == SessionStatus.SCHEDULED).order_by(col(MentorSession.start_at))
        rows = [x for x in (await s.execute(query)).scalars().all() if end_of(x) > now][:LIST_LIMIT]
    else:
        query = query.where(
            or_(
                col(MentorSession.status).in_([SessionStatus.ENDED, SessionStatus.CANCELLED]),
                (col(MentorSession.status) == SessionStatus.SCHEDULED) & (col(MentorSession.start_at) < now),
            )
        ).order_by(col(MentorSession.start_at).desc())
        rows = [
            x for x in (await s.execute(query.limit(LIST_LIMIT * 2))).scalars().all()
            if x.status != SessionStatus.SCHEDULED or end_of(x) <= now
        ][:LIST_LIMIT]
    return await build_views(s, rows, viewer)
