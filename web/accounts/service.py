"""Creating and checking accounts. Signup writes the user and its profile in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.clock import Clock
from models.db import Database
from models.enums import Role
from models.tables import LearnerProfile, MentorProfile, User
from web.accounts.passwords import Passwords
from web.errors import conflict

EMAIL_TAKEN = "An account with this email already exists. Sign in instead."


def dashboard_for(role: str) -> str:
    return f"/dashboard/{role}" if role in (Role.LEARNER, Role.MENTOR, Role.ADMIN) else "/"


def safe_next(raw: object) -> str | None:
    """Only same-site paths: an open redirect would let a link send users anywhere after login.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/<tab>/evil.example"
    would be followed as "//evil.example": any whitespace or control character refuses the path.
    """
    if not isinstance(raw, str) or len(raw) > 2048:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in raw):
        return None
    if raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return None


def landing_for(role: str, next_url: object = None) -> str:
    """Where a user goes after signing in: back to the action that asked, if it is theirs to do."""
    target = safe_next(next_url)
    if target is None:
        return dashboard_for(role)
    if target.startswith("/dashboard/") and not target.startswith(dashboard_for(role)):
        return dashboard_for(role)
    return target


async def email_taken(db: Database, email: str) -> bool:
    async with db.session() as s:
        found = await s.exec(select(User.id).where(User.email == email))  # type: ignore[call-overload]
        return found.first() is not None


async def create_account(
    db: Database,
    clock: Clock,
    passwords: Passwords,
    role: str,
    fields: dict[str, Any],
    *,
    password_hash: str | None = None,
) -> User:
    """`fields` is already validated; a taken email raises 409 and leaves nothing behind."""
    user = User(
        email=fields["email"],
        password_hash=password_hash or passwords.hash(fields["password"]),
        name=fields["name"],
        role=role,
        timezone=fields.get("timezone", "UTC"),
        created_at=clock.now(),
    )
    async with db.session() as s:
        try:
            s.add(user)
            await s.flush()
            assert user.id is not None
            s.add(_profile(role, user.id, fields))
            await s.commit()
        except IntegrityError:
            await s.rollback()
            raise conflict(EMAIL_TAKEN, "email") from None
    return user


def _profile(role: str, user_id: int, f: dict[str, Any]) -> LearnerProfile | MentorProfile:
    if role == Role.MENTOR:
        return MentorProfile(
            user_id=user_id,
            headline=f.get("headline", ""),
            bio=f.get("bio", ""),
            years_experience=f.get("years_experience", 0),
            expertise=f.get("expertise", []),
            default_duration_minutes=f.get("default_duration_minutes", 60),
            default_price_paise=f.get("default_price_paise", 0),
            payout_method=f.get("payout_method", "upi"),
            payout_account_masked=f.get("payout_account_masked", ""),
        )
    return LearnerProfile(
        user_id=user_id,
        headline=f.get("headline", ""),
        experience_level=f.get("experience_level", "beginner"),
        interests=f.get("interests", []),
        goals=f.get("goals", ""),
    )


async def find_by_email(db: Database, email: str) -> User | None:
    async with db.session() as s:
        return (await s.exec(select(User).where(User.email == email))).first()


async def get_user(db: Database, user_id: int) -> User | None:
    async with db.session() as s:
        return await s.get(User, user_id)


async def user_with_profile(db: Database, user_id: int) -> tuple[User, MentorProfile | LearnerProfile | None] | None:
    """The user and the profile of their role (mentor or learner; admins have none), or None."""
    async with db.session() as s:
        user = await s.get(User, user_id)
        if user is None:
            return None
        if user.role == Role.MENTOR:
            return user, await s.get(MentorProfile, user.id)
        return user, await s.get(LearnerProfile, user.id)
