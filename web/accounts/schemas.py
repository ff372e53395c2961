"""The JSON shapes of a user and of a mentor's public profile."""

from __future__ import annotations

from typing import Any

from models.tables import MentorProfile, User

PHOTO_URL_PREFIX = "/media/photos"


def photo_url(name: str | None) -> str | None:
    return f"{PHOTO_URL_PREFIX}/{name}" if name else None


def mentor_page_url(mentor_id: int | None) -> str:
    """The mentor's public page: the shareable link, and where every card's mentor name points."""
    return f"/mentors/{mentor_id}"


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
    """`GET /api/mentors/{id}`: what the mentor page, session cards and the Request Live form show of a mentor."""
    return {
        "id": user.id,
        "name": user.name,
        "headline": profile.headline if profile else "",
        "bio": profile.bio if profile else "",
        "expertise": list(profile.expertise) if profile else [],
        "rating": mentor_rating(profile),
    }


def mentor_profile_json(user: User, profile: MentorProfile | None) -> dict[str, Any]:
    """The mentor page's fuller profile: `mentor_json` plus years, photo and the page's own link."""
    return {
        **mentor_json(user, profile),
        "years_experience": profile.years_experience if profile else 0,
        "photo_url": photo_url(profile.photo_path) if profile else None,
        "profile_url": mentor_page_url(user.id),
    }
