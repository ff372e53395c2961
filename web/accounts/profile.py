"""A mentor edits their public profile (headline, bio, expertise, years, photo) from their dashboard.

The photo goes through the same judging and resizing as session thumbnails (web/images.py), cropped
to a square; it is rendered and stored before the row changes, and the old file goes once the new
one is committed, so a refused form leaves the profile as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from models.tables import MentorProfile, User
from web import images
from web.config import Config
from web.errors import bad_request, forbidden
from web.http import fields as v
from web.http.body import json_object
from web.http.multipart import form_parts, part_text
from web.keys import CONFIG, DB

PHOTO_FIELD = "photo"
PHOTO_SIZE = 320
MAX_PARTS = 40
MAX_TEXT_PART = 8_000
PROFILE_TEXT = {"name": 120, "headline": 160, "bio": 4000}


@dataclass
class ProfileForm:
    fields: dict[str, Any] = field(default_factory=dict)
    photo: bytes | None = None


def photos_dir(config: Config) -> Path:
    directory = config.data_dir / "photos"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def photo_rules(config: Config) -> images.ImageRules:
    return images.ImageRules(noun="photo", field=PHOTO_FIELD, max_bytes=config.int("sessions", "thumbnail_max_bytes"),
                             size=PHOTO_SIZE, directory=photos_dir(config), square=True,
                             max_pixels=images.max_pixels(config))


async def read_profile_form(request: web.Request) -> ProfileForm:
    """JSON, or multipart/form-data when a photo comes along."""
    if request.content_type != "multipart/form-data":
        return ProfileForm(await json_object(request))
    max_photo = request.app[CONFIG].int("sessions", "thumbnail_max_bytes")
    form = ProfileForm()
    async for part in form_parts(request, max_parts=MAX_PARTS):
        name = part.name or ""
        limit = max_photo if name == PHOTO_FIELD else MAX_TEXT_PART
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data.extend(chunk)
            if len(data) > limit:
                if name == PHOTO_FIELD:
                    raise bad_request(images.too_large_message("photo", limit), PHOTO_FIELD)
                raise bad_request(f"{v.label(name)} is too long.", name or None)
        if name == PHOTO_FIELD:
            # Browsers send an empty file part when no file was chosen.
            if data or part.filename:
                form.photo = bytes(data)
            continue
        value = part_text(bytes(data), part, name or None)
        if name in ("expertise", "expertise[]"):
            form.fields.setdefault("expertise", []).extend(value.split(","))
        else:
            form.fields[name] = value
    return form


def profile_changes(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Checked (user columns, profile columns) for the keys the form sent; each problem a 400 naming its field."""
    user: dict[str, Any] = {}
    profile: dict[str, Any] = {}
    if "name" in data:
        user["name"] = v.text(data, "name", min_len=2, max_len=PROFILE_TEXT["name"])
    for key in ("headline", "bio"):
        if key in data:
            profile[key] = v.text(data, key, required=False, max_len=PROFILE_TEXT[key])
    if "years_experience" in data:
        profile["years_experience"] = v.integer(data, "years_experience", low=0, high=70)
    if "expertise" in data:
        profile["expertise"] = v.tags(data, "expertise", min_count=1, max_count=10)
    return user, profile


async def update_mentor_profile(app: web.Application, user_id: int, form: ProfileForm) -> tuple[User, MentorProfile]:
    user_values, profile_values = profile_changes(form.fields)
    remove_photo = str(form.fields.get("remove_photo", "")).lower() in ("1", "true", "on", "yes")
    rules = photo_rules(app[CONFIG])
    new_photo = None
    if form.photo is not None:
        new_photo = images.store_image(await images.prepare_image(app, form.photo, rules), rules.directory)
    old_photo: str | None = None
    try:
        async with app[DB].session() as s:
            user = await s.get(User, user_id)
            profile = await s.get(MentorProfile, user_id)
            if user is None or profile is None:
                raise forbidden("Only mentors have a public profile.")
            for key, value in user_values.items():
                setattr(user, key, value)
            for key, value in profile_values.items():
                setattr(profile, key, value)
            if new_photo is not None or remove_photo:
                old_photo, profile.photo_path = profile.photo_path, new_photo
            s.add(user)
            s.add(profile)
            await s.commit()
    except BaseException:
        images.delete_image(new_photo, rules.directory)
        raise
    images.delete_image(old_photo, rules.directory)
    return user, profile
