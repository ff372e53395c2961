"""Signup, login, logout, password change, signing out everywhere, /api/me and a mentor's public profile.

POST /api/auth/signup/step            one wizard step checked; step 1 says nothing about whether the email exists
POST /api/auth/signup                 the account (409 at this final step when the email is taken)
POST /api/auth/login                  throttled per address and per account (web.accounts.throttle)
GET  /login/unlock?token=             the emailed link: this browser signs in to that account without delays
POST /api/auth/logout, /logout        the session row is revoked: a copy of the cookie dies with it
POST /api/me/password                 new password; every other session of the user is revoked
POST /api/auth/signout-everywhere     the user revokes every other session
POST /api/admin/users/{id}/signout    an admin revokes every session of a user (the dashboard's button posts
                                      the same to /admin/users/{id}/signout)
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from models.enums import Role
from models.tables import MentorProfile, User
from web.accounts import service as accounts
from web.accounts import signup as signup_steps
from web.accounts.profile import read_profile_form, update_mentor_profile
from web.accounts.schemas import mentor_json, mentor_profile_json, mentor_rating_summary, public_user
from web.accounts.sessions import revoke_user_sessions, wall_now
from web.accounts.unlock import UNLOCK_COOKIE, UNLOCK_LIFETIME, UNLOCK_PATH, send_unlock_link, token_user, unlocked_user
from web.errors import ApiError, bad_request, not_found, unauthorized
from web.http import fields as v
from web.http.body import client_address, json_object
from web.http.fields import row_id
from web.http.identity import current_identity, current_session_token, forget, remember, require_identity
from web.keys import CLOCK, CONFIG, DB, LOGIN_THROTTLE, PASSWORDS, SECRET
from web.middlewares import secure_cookies

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
        # Whether the email has an account is not said here (anyone could ask for any address); a taken
        # email is refused at the final step, after the whole wizard, and that too is budgeted per address.
        wait = await request.app[LOGIN_THROTTLE].signup_check(client_address(request))
        if wait > 0:
            raise _too_many_signups(wait)
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
    try:
        user = await accounts.create_account(
            request.app[DB], request.app[CLOCK], request.app[PASSWORDS], str(role), fields, password_hash=password_hash
        )
    except ApiError as exc:
        if exc.status == 409:
            wait = await request.app[LOGIN_THROTTLE].signup_check(client_address(request))
            if wait > 0:
                raise _too_many_signups(wait) from None
        raise
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
    user = await accounts.find_by_email(db, email)
    keys = [throttle.address_key(client_address(request)), throttle.account_key(email)]
    # The owner who opened the emailed link signs in from this browser without the delays (still counted).
    exempt = user is not None and user.id is not None and unlocked_user(request) == user.id
    judged = [] if exempt else keys
    wait = await throttle.retry_after(judged)
    if wait > 0:
        raise _too_many(wait)
    reserved = await throttle.reserve(keys)
    wait = await throttle.retry_after(judged, excluding=reserved)
    if wait > 0:
        await throttle.release(reserved)
        raise _too_many(wait)
    # An unknown email costs the same argon2 check as a wrong password, so timing does not tell them apart.
    stored_hash = user.password_hash if user is not None else await asyncio.to_thread(passwords.dummy_hash)
    ok = await asyncio.to_thread(passwords.verify, stored_hash, password)
    if not ok or user is None or user.id is None:
        if user is not None and await throttle.failures(keys[1]) == throttle.settings.account.free:
            # The account's sign-ins start being slowed: its owner can skip that with the emailed link.
            await send_unlock_link(request.app, user)
        raise unauthorized(WRONG_LOGIN)
    await throttle.release(reserved)
    await throttle.clear(keys[1])
    await remember(request, user.id, user.role)
    return web.json_response(
        {"user": public_user(user), "redirect": accounts.landing_for(user.role, data.get("next"))}
    )


def _too_many(wait: int) -> ApiError:
    when = f"{wait} second(s)" if wait < 90 else f"about {round(wait / 60)} minute(s)"
    return ApiError(429, f"Too many failed sign-in attempts. Try again in {when}.", retry_after=wait)


def _too_many_signups(wait: int) -> ApiError:
    return ApiError(429, f"Too many sign-up attempts from your network. Try again in about "
                         f"{max(1, round(wait / 60))} minute(s).", retry_after=wait)


@routes.get(UNLOCK_PATH)
async def unlock(request: web.Request) -> web.Response:
    """The emailed link: a cookie lets this browser sign in to the account without the throttle's delays."""
    token = request.query.get("token", "")
    user_id = token_user(request.app[SECRET], token, request.app[CLOCK].now())
    if user_id is None:
        raise web.HTTPSeeOther("/login?unlock=expired")
    user = await accounts.get_user(request.app[DB], user_id)
    if user is None:
        raise web.HTTPSeeOther("/login?unlock=expired")
    await request.app[LOGIN_THROTTLE].clear(request.app[LOGIN_THROTTLE].account_key(user.email))
    response = web.HTTPSeeOther("/login?unlocked=1")
    response.set_cookie(UNLOCK_COOKIE, token, max_age=int(UNLOCK_LIFETIME.total_seconds()), httponly=True,
                        samesite="Lax", path="/api/auth/login", secure=secure_cookies(request.app[CONFIG]))
    raise response


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    await forget(request)
    return web.json_response({"redirect": "/"})


@routes.post("/logout")
async def logout_form(request: web.Request) -> web.Response:
    await forget(request)
    raise web.HTTPSeeOther("/")


@routes.post("/api/me/password")
async def change_password(request: web.Request) -> web.Response:
    """A new password, given the current one; every other signed-in browser of the user is signed out."""
    identity = await require_identity(request)
    data = await json_object(request)
    current = data.get("current_password")
    if not isinstance(current, str) or not current:
        raise bad_request("Enter your current password.", "current_password")
    db, passwords = request.app[DB], request.app[PASSWORDS]
    user = await accounts.get_user(db, identity.user_id)
    if user is None:
        await forget(request)
        raise unauthorized()
    new = v.password(data, "new_password", email_value=user.email)
    if not await asyncio.to_thread(passwords.verify, user.password_hash, current):
        raise bad_request("Your current password is not right.", "current_password")
    new_hash = await asyncio.to_thread(passwords.hash, new)
    async with db.session() as s:
        row = await s.get(User, identity.user_id)
        if row is None:
            raise unauthorized()
        row.password_hash = new_hash
        s.add(row)
        await s.commit()
    ended = await revoke_user_sessions(db, identity.user_id, wall_now(),
                                       keep_token=await current_session_token(request))
    return web.json_response({"ok": True, "signed_out_sessions": ended})


@routes.post("/api/auth/signout-everywhere")
async def sign_out_everywhere_else(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    ended = await revoke_user_sessions(request.app[DB], identity.user_id, wall_now(),
                                       keep_token=await current_session_token(request))
    return web.json_response({"signed_out_sessions": ended})


async def _admin_sign_out(request: web.Request) -> tuple[User, int]:
    await require_identity(request, Role.ADMIN)
    user_id = row_id(request.match_info["id"])
    user = await accounts.get_user(request.app[DB], user_id) if user_id is not None else None
    if user is None or user.id is None:
        raise not_found("No such user.")
    return user, await revoke_user_sessions(request.app[DB], user.id, wall_now())


@routes.post("/api/admin/users/{id:[0-9]+}/signout")
async def admin_sign_out(request: web.Request) -> web.Response:
    """An admin ends every session of a user (a stolen cookie, a departing member of staff)."""
    user, ended = await _admin_sign_out(request)
    return web.json_response({"user_id": user.id, "signed_out_sessions": ended})


@routes.post("/admin/users/{id:[0-9]+}/signout")
async def admin_sign_out_form(request: web.Request) -> web.Response:
    user, ended = await _admin_sign_out(request)
    raise web.HTTPSeeOther(f"/dashboard/admin?signed_out={user.id}&sessions={ended}")


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
