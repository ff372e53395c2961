"""Join tokens: who may enter which room on which node, checked without a database.

Format: base64url(JSON claims) "." base64url(HMAC-SHA256). The key is derived from
the app secret with a purpose label so a join token can never pass as a cookie.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from media_server.errors import TokenError, TokenExpired

_PURPOSE = b"mentorlive/join-token/v1"
ROLES = ("mentor", "learner", "admin")


@dataclass(frozen=True)
class JoinClaims:
    user_id: str
    name: str
    role: str
    room: str
    node: str
    record: bool
    expires_at: datetime
    # The signaling URL of the node (set when a registry placed the room; None: the web app's own /rtc).
    url: str | None = None

    @property
    def is_host(self) -> bool:
        # Admins enter as observers: they neither start, end nor record a room.
        return self.role == "mentor"

    @property
    def is_observer(self) -> bool:
        # An admin watching: receives everyone's media, sends none, is never an attendee.
        return self.role == "admin"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_join_token(
    secret: str,
    *,
    user_id: str | int,
    name: str,
    role: str,
    room: str,
    node: str,
    record: bool,
    ttl_seconds: int,
    now: datetime,
    url: str | None = None,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    claims = {
        "u": str(user_id),
        "n": name,
        "r": role,
        "m": room,
        "d": node,
        "rec": bool(record),
        "exp": int(now.timestamp()) + int(ttl_seconds),
        # A token is good for one join (UsedTokens): two issued in the same second must differ.
        "j": secrets.token_urlsafe(9),
    }
    if url:
        claims["url"] = url
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_join_token(secret: str, token: str, now: datetime, *, allow_expired: bool = False) -> JoinClaims:
    """Return the claims of a well-signed token; raise TokenError (TokenExpired when late)."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        raise TokenError("malformed join token")
    body, mac_text = token.split(".")
    try:
        mac = _unb64(mac_text)
        expected = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise TokenError("join token signature does not match")
        raw = json.loads(_unb64(body))
        claims = JoinClaims(
            user_id=str(raw["u"]),
            name=str(raw["n"]),
            role=str(raw["r"]),
            room=str(raw["m"]),
            node=str(raw["d"]),
            record=bool(raw["rec"]),
            expires_at=datetime.fromtimestamp(int(raw["exp"]), UTC),
            url=str(raw["url"]) if raw.get("url") is not None else None,
        )
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, TokenError):
            raise
        raise TokenError("malformed join token") from exc
    if claims.role not in ROLES or not claims.room:
        raise TokenError("join token names no valid role or room")
    if not allow_expired and now >= claims.expires_at:
        raise TokenExpired("join token has expired")
    return claims


class UsedTokens:
    """Join tokens already used for a `join`, each remembered until it expires (at most `capacity`).

    A token is known by a digest of its signature, so the memory per token is small and fixed.
    Tokens are issued with one lifetime, so the oldest entry expires first; when more than
    `capacity` are live the oldest is forgotten (it could be replayed until it expires: the
    price of a bound).
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._seen: dict[bytes, float] = {}

    def claim(self, token: str, expires_at: datetime, now: datetime) -> bool:
        """True the first time `token` is used; False when it was used before."""
        moment = now.timestamp()
        while self._seen:
            oldest, until = next(iter(self._seen.items()))
            if until > moment and len(self._seen) < self._capacity:
                break
            del self._seen[oldest]
        key = hashlib.sha256(token.encode()).digest()[:16]
        if key in self._seen:
            return False
        self._seen[key] = expires_at.timestamp()
        return True

    def __len__(self) -> int:
        return len(self._seen)
