"""Who is signed in: the encrypted session cookie names a server-side session row (web.accounts.sessions);
the user id and role ride along in the cookie, and the row must still be live for them to count.
Also the check every endpoint that needs a signed-in user (of some role) makes."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import get_session, new_session

from models.db import Database
from web.accounts.sessions import open_session, revoke_session, session_user, wall_now
from web.errors import unauthorized
from web.keys import DB
from web.middlewares import rotate_csrf

SESSION_TOKEN = "sid"


@dataclass(frozen=True)
class Identity:
    user_id: int
    role: str


# Read once per request: many handlers ask more than once, and each ask would be a database read.
_IDENTITY: web.RequestKey[Identity | None] = web.RequestKey("mentorlive_identity", object)  # type: ignore[arg-type]


async def current_identity(request: web.Request) -> Identity | None:
    if _IDENTITY in request:
        return request[_IDENTITY]
    identity = await _read_identity(request)
    request[_IDENTITY] = identity
    return identity


async def _read_identity(request: web.Request) -> Identity | None:
    session = await get_session(request)
    user_id, role, token = session.get("uid"), session.get("role"), session.get(SESSION_TOKEN)
    if not isinstance(user_id, int) or not isinstance(role, str) or not isinstance(token, str):
        return None
    if await session_user(request.app[DB], token, wall_now()) != user_id:
        # Revoked, expired or never ours: the cookie is dropped so the browser stops sending it.
        session.invalidate()
        return None
    return Identity(user_id=user_id, role=role)


async def still_signed_in(db: Database, token: str, user_id: int) -> bool:
    """Whether a sign-in read earlier (a WebSocket's, at its upgrade) is still live: not logged out,
    not revoked by a password change or "sign out everywhere", not expired."""
    return await session_user(db, token, wall_now()) == user_id


async def current_session_token(request: web.Request) -> str | None:
    token = (await get_session(request)).get(SESSION_TOKEN)
    return token if isinstance(token, str) else None


async def remember(request: web.Request, user_id: int, role: str) -> None:
    # A fresh session on sign-in so a cookie planted before login is never promoted, and a fresh CSRF
    # token for the same reason (a token an attacker planted or read before sign-in stops working).
    old = await current_session_token(request)
    if old is not None:
        await revoke_session(request.app[DB], old, wall_now())
    token = await open_session(request.app[DB], user_id, wall_now())
    session = await new_session(request)
    session["uid"] = user_id
    session["role"] = role
    session[SESSION_TOKEN] = token
    request[_IDENTITY] = Identity(user_id=user_id, role=role)
    rotate_csrf(request)


async def forget(request: web.Request) -> None:
    token = await current_session_token(request)
    if token is not None:
        await revoke_session(request.app[DB], token, wall_now())
    session = await get_session(request)
    session.invalidate()
    request[_IDENTITY] = None


async def require_identity(request: web.Request, *roles: str) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise unauthorized()
    if roles and identity.role not in roles:
        raise web.HTTPForbidden(text=f"Only a {' or '.join(roles)} can do that.")
    return identity
