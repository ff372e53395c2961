"""The JSON shapes of a user and of a mentor's public profile."""

from __future__ import annotations

from typing import Any

from models.tables import MentorProfile, User


def public_user(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role, "timezone": user.timezone}


def mentor_rating(profile: MentorProfile | None) -> float | None:
    if profile is None or profile.rating_count == 0:
        return None
    return round(profile.rating_sum / profile.rating_count, 2)


def mentor_rating_summary(profile: MentorProfile | None) -> dict[str, Any]:
    """{"average", "count"} for cards and profiles; the average is null until someone rated."""
    count = profile.rating_count if profile else 0
    return {"average": mentor_rating(profile), "count": count}


def mentor_json(user: User, profile: MentorProfile | None) -> dict[str, Any]:
    """`GET /api/mentors/{id}`: what session cards and the Request Live form show of a mentor."""
    return {
        "id": user.id,
        "name": user.name,
        "headline": profile.headline if profile else "",
        "bio": profile.bio if profile else "",
        "expertise": list(profile.expertise) if profile else [],
        "rating": mentor_rating(profile),
    }
