"""Signup, login, logout and /api/me."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from models.tables import LearnerProfile, MentorProfile
from web import accounts, signup_steps
from web import validation as v
from web.errors import ApiError, bad_request, unauthorized
from web.identity import current_identity, forget, remember
from web.keys import CLOCK, DB, LOGIN_THROTTLE, PASSWORDS
from web.request_data import client_address, json_object

routes = web.RouteTableDef()
WRONG_LOGIN = "Email or password is incorrect."
DRAFT_KEY = "signup_draft"


@routes.post("/api/auth/signup/step")
async def check_signup_step(request: web.Request) -> web.Response:
    """Validates one wizard step before the page moves on; step 1 also reserves nothing."""
    data = await json_object(request)
    role, step = data.get("role"), data.get("step")
    steps = signup_steps.steps_for(role)
    if not isinstance(step, int) or isinstance(step, bool):
        raise bad_request(f"Step must be between 1 and {len(steps)}.", "step")
    index = step - 1
    cleaned = signup_steps.check_step(role, index, data)
    if index == 0:
        if await accounts.email_taken(request.app[DB], cleaned["email"]):
            raise ApiError(409, accounts.EMAIL_TAKEN, field="email")
        # The hash waits in the encrypted cookie so a reload mid-wizard needs no password in the page.
        password_hash = await asyncio.to_thread(request.app[PASSWORDS].hash, cleaned["password"])
        session = await get_session(request)
        session[DRAFT_KEY] = {"role": role, "email": cleaned["email"], "password_hash": password_hash}
    return web.json_response({"ok": True, "step": step, "next_step": step + 1 if step < len(steps) else None})


@routes.post("/api/auth/signup")
async def signup(request: web.Request) -> web.Response:
    data = await json_object(request)
    role = data.get("role")
    signup_steps.steps_for(role)
    password_hash = None
    if not data.get("password"):
        draft = (await get_session(request)).get(DRAFT_KEY) or {}
        if draft.get("role") == role and draft.get("email") == str(data.get("email", "")).strip().lower():
            password_hash = draft["password_hash"]
    fields = signup_steps.check_all(role, data, password_checked=password_hash is not None)
    if password_hash is None:
        password_hash = await asyncio.to_thread(request.app[PASSWORDS].hash, fields["password"])
    user = await accounts.create_account(
        request.app[DB], request.app[CLOCK], request.app[PASSWORDS], str(role), fields, password_hash=password_hash
    )
    assert user.id is not None
    await remember(request, user.id, user.role)
    return web.json_response(
        {"user": accounts.public_user(user), "redirect": accounts.landing_for(user.role, data.get("next"))},
        status=201,
    )


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    data = await json_object(request)
    email = v.email(data)
    password = data.get("password")
    if not isinstance(password, str) or not password:
        raise bad_request("Password is required.", "password")
    throttle = request.app[LOGIN_THROTTLE]
    keys = throttle.keys(email, client_address(request))
    wait = await throttle.retry_after(keys)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        raise ApiError(
            429, f"Too many failed sign-in attempts. Try again in about {minutes} minute(s).", retry_after=wait
        )
    user = await accounts.find_by_email(request.app[DB], email)
    ok = user is not None and await asyncio.to_thread(request.app[PASSWORDS].verify, user.password_hash, password)
    if not ok or user is None or user.id is None:
        await throttle.record_failure(keys)
        await asyncio.sleep(throttle.delay_for(await throttle.failures(keys)))
        raise unauthorized(WRONG_LOGIN)
    await throttle.clear(keys[0])
    await remember(request, user.id, user.role)
    return web.json_response(
        {"user": accounts.public_user(user), "redirect": accounts.landing_for(user.role, data.get("next"))}
    )


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    await forget(request)
    return web.json_response({"redirect": "/"})


@routes.post("/logout")
async def logout_form(request: web.Request) -> web.Response:
    await forget(request)
    raise web.HTTPSeeOther("/")


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    if identity is None:
        raise unauthorized()
    db = request.app[DB]
    user = await accounts.get_user(db, identity.user_id)
    if user is None:
        await forget(request)
        raise unauthorized()
    body: dict[str, Any] = accounts.public_user(user)
    model: type[MentorProfile] | type[LearnerProfile] = MentorProfile if user.role == "mentor" else LearnerProfile
    async with db.session() as s:
        profile = await s.get(model, user.id)
    body["profile"] = profile.model_dump() if profile else None
    body["dashboard"] = accounts.dashboard_for(user.role)
    return web.json_response(body)
