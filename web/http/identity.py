"""Who is signed in: the user id and role kept in the encrypted session cookie, and the check every
endpoint that needs a signed-in user (of some role) makes."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import get_session, new_session

from web.errors import unauthorized


@dataclass(frozen=True)
class Identity:
    user_id: int
    role: str


async def current_identity(request: web.Request) -> Identity | None:
    session = await get_session(request)
    user_id = session.get("uid")
    role = session.get("role")
    if not isinstance(user_id, int) or not isinstance(role, str):
        return None
    return Identity(user_id=user_id, role=role)


async def remember(request: web.Request, user_id: int, role: str) -> None:
    # A fresh session on sign-in so a cookie planted before login is never promoted.
    session = await new_session(request)
    session["uid"] = user_id
    session["role"] = role


async def forget(request: web.Request) -> None:
    session = await get_session(request)
    session.invalidate()


async def require_identity(request: web.Request, *roles: str) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise unauthorized()
    if roles and identity.role not in roles:
        raise web.HTTPForbidden(text=f"Only a {' or '.join(roles)} can do that.")
    return identity
