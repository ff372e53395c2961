"""Live requests: a learner asks a mentor for a session; the mentor accepts (and schedules it) or declines.

A pending request expires `live_request_ttl_hours` after it was sent. Expiry is judged against
the clock whenever a request is read or answered, so no timer has to have run for an expired
request to read as expired or to refuse acceptance. Scheduling an accepted request is part of
creating a session (web.sessions.service).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import update
from sqlmodel import col, select

from models import rules
from models.clock import as_utc
from models.enums import LiveRequestStatus, Role
from models.tables import LiveRequest, MentorProfile
from web.errors import bad_request, conflict, forbidden, not_found
from web.http import fields as v
from web.http.identity import Identity
from web.keys import CLOCK, CONFIG, DB
from web.live_requests.queries import users_by_id
from web.live_requests.schemas import live_request_json
from web.realtime.channels import learner_channel, mentor_channel
from web.realtime.outbox import unit_of_work
from web.sessions.timing import time_settings

MAX_PREFERRED_TIMES = 5


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


async def send_request(app: web.Application, identity: Identity, data: dict[str, Any]) -> dict[str, Any]:
    """A learner asks a mentor; the mentor hears of it at once (`live_request` on their channel)."""
    mentor_id = v.integer(data, "mentor_id", low=1, high=v.MAX_ID)
    topic = v.text(data, "topic", min_len=3, max_len=140)
    message = v.text(data, "message", required=False, max_len=2000)
    times = preferred_times(data)
    now = app[CLOCK].now()
    ttl = time_settings(app[CONFIG]).live_request_ttl
    async with unit_of_work(app) as work:
        s = work.s
        users = await users_by_id(s, mentor_id, identity.user_id)
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
        await work.notify(user_id=mentor_id, kind="live_request", title="New live request",
                          body=f"{learner.name} asks for a session on “{topic}”.", data={"live_request_id": row.id})
        body = live_request_json(row, learner, mentor, now)
        work.publish(mentor_channel(mentor_id), "live_request", body)
        await s.commit()
    return body


async def answer_request(app: web.Application, identity: Identity, request_id: int,
                         new_status: LiveRequestStatus) -> dict[str, Any]:
    """Move a pending, unexpired request of this mentor to `new_status`; publish; return its JSON."""
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        row = await s.get(LiveRequest, request_id)
        if row is None:
            raise not_found("No such live request.")
        if row.mentor_id != identity.user_id:
            raise forbidden("This request was sent to another mentor.")
        decision = rules.can_answer_live_request(row.status, as_utc(row.expires_at), now)
        if not decision:
            raise conflict(decision.reason)
    async with unit_of_work(app) as work:
        s = work.s
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
        await work.notify(
            user_id=row.learner_id, kind="request_accepted" if accepted else "request_declined",
            title="Live request accepted" if accepted else "Live request declined",
            body=f"Your request “{row.topic}” was {'accepted' if accepted else 'declined'}.",
            data={"live_request_id": request_id},
        )
        fresh = await s.get(LiveRequest, request_id, populate_existing=True)
        users = await users_by_id(s, row.learner_id, row.mentor_id)
        assert fresh is not None
        body = live_request_json(fresh, users[row.learner_id], users[row.mentor_id], now)
        work.publish(learner_channel(row.learner_id), "request_accepted" if accepted else "request_declined",
                     {"live_request": body})
        await s.commit()
    return body


async def create_form_prefill(app: web.Application, identity: Identity, body: dict[str, Any]) -> dict[str, Any]:
    """What the Create Session form starts with when a mentor schedules the request they accepted."""
    async with app[DB].session() as s:
        profile = await s.get(MentorProfile, identity.user_id)
    return {
        "title": body["topic"],
        "domain_tags": list(profile.expertise) if profile else [],
        "description": body["message"],
        "live_request_id": body["id"],
        "preferred_times": body["preferred_times"],
    }
