"""HTML pages. Pages only mirror the server's rules; every action goes through /api/."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlmodel import col, select

from models.enums import Role, SessionStatus
from models.rules import HOLDING_SEAT
from models.tables import Booking, MentorSession, User
from web.accounts import service as accounts
from web.accounts import signup as signup_steps
from web.accounts.service import safe_next
from web.http.identity import Identity, current_identity
from web.keys import CLOCK, CONFIG, DB
from web.room.allocation import nodes_overview
from web.templating import forbidden_page, page, with_article

routes = web.RouteTableDef()
FAVICON = Path(__file__).parent / "static" / "favicon.ico"
# Sessions that started recently may still be running: keep them on the landing page.
LISTING_GRACE = timedelta(hours=4)


async def require_page_role(request: web.Request, role: str) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
    if identity.role != role:
        raise await forbidden_page(
            request, f"This page is for {role}s. You are signed in as {with_article(identity.role)}.")
    return identity


@routes.get("/")
@page("index.html")
async def landing(request: web.Request) -> dict[str, Any]:
    db, now = request.app[DB], request.app[CLOCK].now()
    async with db.session() as s:
        rows = (await s.exec(
            select(MentorSession, User)
            .join(User, col(User.id) == col(MentorSession.mentor_id))
            .where(col(MentorSession.status).in_([SessionStatus.SCHEDULED, SessionStatus.LIVE]))
            .where(col(MentorSession.start_at) >= now - LISTING_GRACE)
            .order_by(col(MentorSession.start_at))
            .limit(24)
        )).all()
        identity = await current_identity(request)
        mine: dict[int, str] = {}
        if identity is not None and identity.role == Role.LEARNER and rows:
            # The signed-in learner's own seats: a card they booked says so instead of offering Book ▶.
            mine = {int(session_id): str(status) for session_id, status in (await s.execute(
                select(col(Booking.session_id), col(Booking.status)).where(
                    col(Booking.learner_id) == identity.user_id,
                    col(Booking.session_id).in_([session.id for session, _ in rows]),
                    col(Booking.status).in_(HOLDING_SEAT))
            )).all()}
    sessions = [{"session": session, "mentor": mentor, "booking": mine.get(session.id or 0)}
                for session, mentor in rows]
    return {"sessions": sessions}


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    # Read whole in a worker thread that also closes the file: a FileResponse opens the file in the
    # executor and leaks it when the request is cancelled in between (a browser closing at shutdown).
    body = await asyncio.to_thread(FAVICON.read_bytes)
    return web.Response(body=body, content_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


@routes.get("/login")
@page("login.html")
async def login_page(request: web.Request) -> dict[str, Any]:
    identity = await current_identity(request)
    next_url = safe_next(request.query.get("next"))
    if identity is not None:
        raise web.HTTPFound(next_url or accounts.dashboard_for(identity.role))
    unlock = {"1": "This browser may now sign in without waiting.",
              "expired": "That sign-in link has expired or is not valid."}
    state = "1" if request.query.get("unlocked") else request.query.get("unlock", "")
    return {"next": next_url or "", "unlock_notice": unlock.get(state, "")}


@routes.get("/signup/{role:learner|mentor}")
@page("signup.html")
async def signup_page(request: web.Request) -> dict[str, Any]:
    role = request.match_info["role"]
    identity = await current_identity(request)
    if identity is not None:
        raise web.HTTPFound(accounts.dashboard_for(identity.role))
    steps = signup_steps.steps_for(role)
    return {
        "role": role,
        "steps": [{"key": s.key, "title": s.title} for s in steps],
        "next": safe_next(request.query.get("next")) or "",
        "suggested_domains": SUGGESTED_DOMAINS,
    }


SUGGESTED_DOMAINS = (
    "python", "web development", "data science", "machine learning", "system design",
    "interview prep", "career", "product management", "design", "devops",
)


@routes.get("/dashboard/learner")
@page("dashboard_learner.html")
async def learner_dashboard(request: web.Request) -> dict[str, Any]:
    await require_page_role(request, Role.LEARNER)
    return {"suggested_domains": SUGGESTED_DOMAINS}


@routes.get("/dashboard/mentor")
@page("dashboard_mentor.html")
async def mentor_dashboard(request: web.Request) -> dict[str, Any]:
    await require_page_role(request, Role.MENTOR)
    return {
        "suggested_domains": SUGGESTED_DOMAINS,
        "record_by_default": request.app[CONFIG].bool("media", "record_by_default"),
    }


@routes.get("/dashboard/admin")
@page("dashboard_admin.html")
async def admin_dashboard(request: web.Request) -> dict[str, Any]:
    await require_page_role(request, Role.ADMIN)
    async with request.app[DB].session() as s:
        users = (await s.exec(select(User).order_by(col(User.created_at).desc()).limit(50))).all()
        sessions = (await s.exec(select(MentorSession).order_by(col(MentorSession.start_at).desc()).limit(50))).all()
    ended = request.query.get("sessions", "")
    return {"users": users, "sessions": sessions,
            "signed_out_sessions": int(ended) if ended.isascii() and ended.isdigit() and len(ended) < 6 else None,
            "media": await nodes_overview(request.app)}
