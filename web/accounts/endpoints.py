"""Signup, login, logout, /api/me and a mentor's public profile (/api/mentors/{id})."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from models.enums import Role
from models.tables import MentorProfile
from web.accounts import service as accounts
from web.accounts import signup as signup_steps
from web.accounts.profile import read_profile_form, update_mentor_profile
from web.accounts.schemas import mentor_json, mentor_profile_json, mentor_rating_summary, public_user
from web.errors import ApiError, bad_request, not_found, unauthorized
from web.http import fields as v
from web.http.body import client_address, json_object
from web.http.fields import row_id
from web.http.identity import current_identity, forget, remember, require_identity
from web.keys import CLOCK, DB, LOGIN_THROTTLE, PASSWORDS

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
        {"user": public_user(user), "redirect": accounts.landing_for(user.role, data.get("next"))},
        status=201,
    )


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    data = await json_object(request)
    email = v.email(data)
    password = data.get("password")
    if not isinstance(password, str) or not password:
        raise bad_request("Password is required.", "password")
    db, passwords = request.app[DB], request.app[PASSWORDS]
    throttle = request.app[LOGIN_THROTTLE]
    keys = throttle.keys(email, client_address(request))
    wait = await throttle.retry_after(keys)
    if wait > 0:
        raise _too_many(wait)
    reserved = await throttle.reserve_attempt(keys)
    if await throttle.failures(keys) > throttle.max_failures:
        await throttle.release_attempt(reserved)
        raise _too_many(max(1, await throttle.retry_after(keys)))
    user = await accounts.find_by_email(db, email)
    # An unknown email costs the same argon2 check as a wrong password, so timing does not tell them apart.
    stored_hash = user.password_hash if user is not None else await asyncio.to_thread(passwords.dummy_hash)
    ok = await asyncio.to_thread(passwords.verify, stored_hash, password)
    if not ok or user is None or user.id is None:
        await asyncio.sleep(throttle.delay_for(await throttle.failures(keys)))
        raise unauthorized(WRONG_LOGIN)
    await throttle.release_attempt(reserved)
    await throttle.clear(keys[0])
    await remember(request, user.id, user.role)
    return web.json_response(
        {"user": public_user(user), "redirect": accounts.landing_for(user.role, data.get("next"))}
    )


def _too_many(wait: int) -> ApiError:
    minutes = max(1, round(wait / 60))
    return ApiError(429, f"Too many failed sign-in attempts. Try again in about {minutes} minute(s).", retry_after=wait)


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
    found = await accounts.user_with_profile(request.app[DB], identity.user_id)
    if found is None:
        await forget(request)
        raise unauthorized()
    user, profile = found
    body: dict[str, Any] = public_user(user)
    body["profile"] = profile.model_dump() if profile else None
    body["dashboard"] = accounts.dashboard_for(user.role)
    return web.json_response(body)


@routes.get(r"/api/mentors/{id:[0-9]+}")
async def mentor(request: web.Request) -> web.Response:
    """A mentor's public profile, for session cards and the Request Live form."""
    mentor_id = row_id(request.match_info["id"])
    found = await accounts.user_with_profile(request.app[DB], mentor_id) if mentor_id is not None else None
    if found is None or found[0].role != Role.MENTOR:
        raise not_found("No such mentor.")
    user, profile = found
    mentor_profile = profile if isinstance(profile, MentorProfile) else None
    return web.json_response({"mentor": mentor_json(user, mentor_profile),
                              "profile": mentor_profile_json(user, mentor_profile),
                              "mentor_rating": mentor_rating_summary(mentor_profile)})


@routes.patch("/api/mentors/me")
async def edit_my_profile(request: web.Request) -> web.Response:
    """The signed-in mentor edits their public profile: JSON, or multipart with a `photo` file."""
    identity = await require_identity(request, Role.MENTOR)
    form = await read_profile_form(request)
    user, profile = await update_mentor_profile(request.app, identity.user_id, form)
    return web.json_response({"mentor": mentor_json(user, profile), "profile": mentor_profile_json(user, profile),
                              "mentor_rating": mentor_rating_summary(profile)})
