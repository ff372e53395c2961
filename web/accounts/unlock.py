"""The emailed "sign in without waiting" link for an account whose sign-ins are being slowed.

When an account reaches the failures at which its throttle starts to delay (guesses from many
addresses), its owner is emailed a link, if email is configured. Opening it sets a signed cookie in
that browser, scoped to the login endpoint, under which sign-ins to that account skip the throttle's
delays (they are still counted), and clears the account's failures. Someone without the mailbox
gains nothing; the owner is never held out by an attacker's guesses.

Token: "<user id>.<expiry, unix seconds>.<HMAC-SHA256 of both under the app's secret>".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from aiohttp import web

from models.tables import User
from web.keys import CLOCK, DB, SECRET
from web.mail.service import email_user

UNLOCK_COOKIE = "mentorlive_login_unlock"
UNLOCK_PATH = "/login/unlock"
UNLOCK_LIFETIME = timedelta(hours=1)


def _signature(secret: str, user_id: int, expires: int) -> str:
    digest = hmac.new(f"login-unlock:{secret}".encode(), f"{user_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def unlock_token(secret: str, user_id: int, now: datetime, lifetime: timedelta = UNLOCK_LIFETIME) -> str:
    expires = int((now + lifetime).timestamp())
    return f"{user_id}.{expires}.{_signature(secret, user_id, expires)}"


def token_user(secret: str, token: str, now: datetime) -> int | None:
    """The user an unexpired, genuine token was made for, else None."""
    parts = token.split(".")
    if (
        len(parts) != 3
        or not parts[0].isascii()
        or not parts[0].isdigit()
        or not parts[1].isascii()
        or not parts[1].isdigit()
        or len(parts[0]) > 12
        or len(parts[1]) > 12
    ):
        return None
    user_id, expires = int(parts[0]), int(parts[1])
    if expires <= now.timestamp():
        return None
    if not hmac.compare_digest(parts[2], _signature(secret, user_id, expires)):
        return None
    return user_id


def unlocked_user(request: web.Request) -> int | None:
    token = request.cookies.get(UNLOCK_COOKIE)
    if not token:
        return None
    return token_user(request.app[SECRET], token, request.app[CLOCK].now())


async def send_unlock_link(app: web.Application, user: User) -> bool:
    """Email the owner the link; False when email is off."""
    assert user.id is not None
    token = unlock_token(app[SECRET], user.id, app[CLOCK].now())
    async with app[DB].session() as s:
        sent = await email_user(
            s,
            app,
            user_id=user.id,
            subject="Sign-in attempts on your MentorLive account",
            text="Someone tried to sign in to your account several times with a wrong password, so sign-ins "
            "to it are being slowed down.\n\nIf that was you, the link below lets this browser sign in "
            "without waiting for the next hour. If it was not you, your password kept them out; "
            "consider changing it.",
            link=("Sign in without waiting", f"{UNLOCK_PATH}?token={token}"),
        )
        await s.commit()
    return sent
