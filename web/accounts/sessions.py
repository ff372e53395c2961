"""Server-side sign-in sessions: one `auth_sessions` row per signed-in browser.

The encrypted session cookie carries a random token; the row is keyed by its SHA-256, so a copy of
the database does not yield working cookies. Every request that asks who is signed in reads the row
by primary key (one indexed read, no cache): a revocation committed by any process is seen by every
other process on its next request, which is what "a copied cookie dies at logout" needs.

Lifecycle: `open_session` at sign-in (login, signup); `revoke_session` at logout; `revoke_user_sessions`
at a password change (all but the current one) and an admin's "sign out everywhere" (all). Expired and
revoked rows are deleted when their user signs in again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import col, select

from models.clock import as_utc
from models.db import Database
from models.tables import AuthSession

SESSION_LIFETIME = timedelta(days=14)


def wall_now() -> datetime:
    """Session lifetimes run on the wall clock, not the app's clock: the cookie's own 14-day max-age is
    checked by aiohttp_session against the wall clock, and both must agree (a test's clock moved by
    months to reach a session's end must not sign its users out)."""
    return datetime.now(UTC)


def session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(db: Database, user_id: int, now: datetime, lifetime: timedelta = SESSION_LIFETIME) -> str:
    """A new session row for `user_id`; returns the token the cookie carries."""
    token = secrets.token_urlsafe(32)
    async with db.session() as s:
        await s.execute(
            delete(AuthSession).where(
                col(AuthSession.user_id) == user_id,
                or_(col(AuthSession.revoked_at).is_not(None), col(AuthSession.expires_at) <= now),
            )
        )
        s.add(AuthSession(id=session_key(token), user_id=user_id, created_at=now, expires_at=now + lifetime))
        await s.commit()
    return token


async def session_user(db: Database, token: str, now: datetime) -> int | None:
    """The user a live (unrevoked, unexpired) session token belongs to, else None.

    One primary-key SELECT on a pooled connection (no ORM session: this runs on every signed-in request,
    before and apart from the transactions a service opens)."""
    query = select(AuthSession.user_id, AuthSession.expires_at, AuthSession.revoked_at).where(  # type: ignore[call-overload]
        col(AuthSession.id) == session_key(token)
    )
    async with db.engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    user_id, expires_at, revoked_at = row
    if revoked_at is not None or as_utc(expires_at) <= now:
        return None
    return int(user_id)


async def revoke_session(db: Database, token: str, now: datetime) -> None:
    async with db.session() as s:
        await s.execute(
            update(AuthSession)
            .where(col(AuthSession.id) == session_key(token), col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        await s.commit()


async def revoke_user_sessions(db: Database, user_id: int, now: datetime, *, keep_token: str | None = None) -> int:
    """Revoke every live session of a user (but `keep_token`'s); returns how many were ended."""
    conditions = [
        col(AuthSession.user_id) == user_id,
        col(AuthSession.revoked_at).is_(None),
        col(AuthSession.expires_at) > now,
    ]
    if keep_token is not None:
        conditions.append(col(AuthSession.id) != session_key(keep_token))
    async with db.session() as s:
        result = await s.execute(update(AuthSession).where(*conditions).values(revoked_at=now))
        await s.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def live_session_count(db: Database, user_id: int, now: datetime) -> int:
    async with db.session() as s:
        rows = (
            await s.exec(
                select(AuthSession.id).where(  # type: ignore[call-overload]
                    col(AuthSession.user_id) == user_id,
                    col(AuthSession.revoked_at).is_(None),
                    col(AuthSession.expires_at) > now,
                )
            )
        ).all()
    return len(rows)
