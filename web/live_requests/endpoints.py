"""Live requests: a learner asks a mentor for a session; the mentor accepts (and schedules it) or declines.

A pending request expires `live_request_ttl_hours` after it was sent. Expiry is judged against
the clock whenever a request is read or answered, so no timer has to have run for an expired
request to read as expired or to refuse acceptance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import rules
from models.clock import as_utc, iso_utc
from models.enums import LiveRequestStatus, Role
from models.tables import LiveRequest, MentorProfile, User
from web.errors import bad_request, conflict, forbidden, not_found
from web.http import fields as v
from web.http.body import json_object, require_identity
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG, DB
from web.realtime.notifications import add_notification
from web.realtime.outbox import Event, learner_channel, mentor_channel, publish_committed
from web.sessions.timing import time_settings

routes = web.RouteTableDef()
MAX_PREFERRED_TIMES = 5
LIST_LIMIT = 100


def live_request_json(row: LiveRequest, learner: User, mentor: User, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "learner": {"id": learner.id, "name": learner.name},
        "mentor": {"id": mentor.id, "name": mentor.name},
        "topic": row.topic,
        "message": row.message,
        "preferred_times": list(row.preferred_times),
        "status": rules.live_request_status(row.status, as_utc(row.expires_at), now),
        "created_at": iso_utc(row.created_at),
        "expires_at": iso_utc(row.expires_at),
        "responded_at": iso_utc(row.responded_at) if row.responded_at else None,
    }


def preferred_times(data: dict[str, Any]) -> list[str]:
    raw = data.get("preferred_times", [])
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise bad_request("Preferred times must be a list of texts.", "preferred_times")
    cleaned = [item.strip() for item in raw if item.strip()]
    if len(cleaned) > MAX_PREFERRED_TIMES:
        raise bad_request(f"Give at most {MAX_PREFERRED_TIMES} preferred times.", "preferred_times")
    if any(len(item) > 80 for item in cleaned):
        raise bad_request("Each preferred time must be at most 80 characters.", "preferred_times")
    return cleaned


async def _users(s: AsyncSession, *ids: int) -> dict[int, User]:
    rows = await s.exec(select(User).where(col(User.id).in_(ids)))
    return {u.id: u for u in rows.all() if u.id is not None}


@routes.post("/api/live-requests")
async def send(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    data = await json_object(request)
    mentor_id = v.integer(data, "mentor_id", low=1, high=v.MAX_ID)
    topic = v.text(data, "topic", min_len=3, max_len=140)
    message = v.text(data, "message", required=False, max_len=2000)
    times = preferred_times(data)
    db, clock = request.app[DB], request.app[CLOCK]
    now = clock.now()
    ttl = time_settings(request.app[CONFIG]).live_request_ttl
    async with db.session() as s:
        users = await _users(s, mentor_id, identity.user_id)
        mentor, learner = users.get(mentor_id), users.get(identity.user_id)
        if mentor is None or mentor.role != Role.MENTOR:
            raise not_found("No such mentor.")
        if learner is None:
            raise forbidden("Your account no longer exists.")
        waiting = (await s.exec(
            select(LiveRequest.id).where(  # type: ignore[call-overload]
                col(LiveRequest.learner_id) == identity.user_id,
                col(LiveRequest.mentor_id) == mentor_id,
                col(LiveRequest.status) == LiveRequestStatus.PENDING,
                col(LiveRequest.expires_at) > now,
            )
        )).first()
        if waiting is not None:
            raise conflict("You already have a request waiting for this mentor's answer.")
        row = LiveRequest(learner_id=identity.user_id, mentor_id=mentor_id, topic=topic, message=message,
                          preferred_times=times, status=LiveRequestStatus.PENDING, created_at=now,
                          expires_at=now + ttl)
        s.add(row)
        await s.flush()
        note = await add_notification(s, clock, user_id=mentor_id, kind="live_request", title="New live request",
                                      body=f"{learner.name} asks for a session on “{topic}”.",
                                      data={"live_request_id": row.id})
        await s.commit()
    body = live_request_json(row, learner, mentor, now)
    await publish_committed(request.app, [Event(mentor_channel(mentor_id), "live_request", body)], [note])
    return web.json_response({"live_request": body}, status=201)


@routes.get("/api/live-requests")
async def list_requests(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR, Role.LEARNER)
    owner = col(LiveRequest.mentor_id) if identity.role == Role.MENTOR else col(LiveRequest.learner_id)
    now = request.app[CLOCK].now()
    async with request.app[DB].session() as s:
        rows = (await s.exec(
            select(LiveRequest).where(owner == identity.user_id)
            .order_by(col(LiveRequest.created_at).desc(), col(LiveRequest.id).desc()).limit(LIST_LIMIT)
        )).all()
        users = await _users(s, *{r.learner_id for r in rows}, *{r.mentor_id for r in rows}) if rows else {}
    return web.json_response(
        {"live_requests": [live_request_json(r, users[r.learner_id], users[r.mentor_id], now) for r in rows]}
    )


async def _answer(request: web.Request, identity: Identity, new_status: LiveRequestStatus) -> dict[str, Any]:
    """Move a pending, unexpired request of this mentor to `new_status`; publish; return its JSON."""
    request_id = v.row_id(request.match_info["id"])
    if request_id is None:
        raise not_found("No such live request.")
    db, clock = request.app[DB], request.app[CLOCK]
    now = clock.now()
    async with db.session() as s:
        row = await s.get(LiveRequest, request_id)
        if row is None:
            raise not_found("No such live request.")
        if row.mentor_id != identity.user_id:
            raise forbidden("This request was sent to another mentor.")
        decision = rules.can_answer_live_request(row.status, as_utc(row.expires_at), now)
        if not decision:
            raise conflict(decision.reason)
    async with db.session() as s:
        result = await s.execute(
            update(LiveRequest)
            .where(col(LiveRequest.id) == request_id, col(LiveRequest.status) == LiveRequestStatus.PENDING,
                   col(LiveRequest.expires_at) > now)
            .values(status=new_status, responded_at=now)
        )
        if int(getattr(result, "rowcount", 0) or 0) != 1:
            await s.rollback()
            raise conflict("This request was answered or expired meanwhile.")
        accepted = new_status == LiveRequestStatus.ACCEPTED
        note = await add_notification(
            s, clock, user_id=row.learner_id, kind="request_accepted" if accepted else "request_declined",
            title="Live request accepted" if accepted else "Live request declined",
            body=f"Your request “{row.topic}” was {'accepted' if accepted else 'declined'}.",
            data={"live_request_id": request_id},
        )
        await s.commit()
        fresh = await s.get(LiveRequest, request_id, populate_existing=True)
        users = await _users(s, row.learner_id, row.mentor_id)
    assert fresh is not None
    body = live_request_json(fresh, users[row.learner_id], users[row.mentor_id], now)
    event = Event(learner_channel(row.learner_id), "request_accepted" if accepted else "request_declined",
                  {"live_request": body})
    await publish_committed(request.app, [event], [note])
    return body


@routes.post(r"/api/live-requests/{id:\d+}/accept")
async def accept(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    body = await _answer(request, identity, LiveRequestStatus.ACCEPTED)
    async with request.app[DB].session() as s:
        profile = await s.get(MentorProfile, identity.user_id)
    prefill = {
        "title": body["topic"],
        "domain_tags": list(profile.expertise) if profile else [],
        "description": body["message"],
        "live_request_id": body["id"],
        "preferred_times": body["preferred_times"],
    }
    return web.json_response({"live_request": body, "prefill": prefill,
                              "redirect": f"/dashboard/mentor?create_from_request={body['id']}"})


@routes.post(r"/api/live-requests/{id:\d+}/decline")
async def decline(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    return web.json_response({"live_request": await _answer(request, identity, LiveRequestStatus.DECLINED)})
