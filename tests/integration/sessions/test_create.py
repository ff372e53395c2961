"""Create Session: schedule in any timezone, pricing, capacity, room codes and thumbnails."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import func
from sqlmodel import select

from models.tables import MentorSession
from tests.integration.sessions.helpers import People, create_session, png_bytes, session_fields
from tests.support.api import ApiClient
from web.keys import CONFIG, DB


async def session_count(api: ApiClient) -> int:
    async with api.app[DB].session() as s:
        return int((await s.exec(select(func.count()).select_from(MentorSession))).one())


def thumbnail_files(api: ApiClient) -> list[Path]:
    return sorted((api.app[CONFIG].var_dir / "thumbnails").iterdir())


def multipart(fields: dict[str, Any], file: bytes | None, filename: str = "cover.png",
              content_type: str = "image/png") -> aiohttp.FormData:
    form = aiohttp.FormData()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            form.add_field(key, str(item))
    if file is not None:
        form.add_field("thumbnail", file, filename=filename, content_type=content_type)
    return form


async def test_json_create_converts_local_time_to_utc_and_answers_the_contract(people: People) -> None:
    fields = session_fields(date="2030-01-02", time="18:30", timezone="Asia/Kolkata", price_rupees="499.50",
                            record=True)
    del fields["start_at"], fields["price_paise"]
    body = await people.mentor.json("POST", "/api/sessions", 201, json=fields)

    session = body["session"]
    assert body["redirect"] == "/dashboard/mentor?tab=upcoming"
    assert session["start_at"] == "2030-01-02T13:00:00Z"
    assert session["end_at"] == "2030-01-02T14:00:00Z"
    assert session["timezone"] == "Asia/Kolkata"
    assert session["go_live_opens_at"] == "2030-01-02T12:45:00Z"
    assert session["join_opens_at"] == "2030-01-02T12:55:00Z"
    assert session["edit_closes_at"] == "2030-01-02T12:55:00Z"
    assert (session["price_paise"], session["price_display"], session["currency"]) == (49950, "₹499.50", "INR")
    assert session["status"] == "scheduled" and session["record"] is True
    assert (session["capacity"], session["seats_taken"], session["booked_count"], session["seats_left"]) == (
        5, 0, 0, 5)
    assert session["domain_tags"] == ["system design", "python"]
    assert session["mentor"]["name"] == "Maya Mentor"
    assert session["mentor"]["headline"] == "Principal engineer"
    assert session["thumbnail_url"] is None
    assert len(session["room_code"]) >= 20
    viewer = session["viewer"]
    assert viewer["can_edit"] and viewer["can_cancel"]
    assert not viewer["can_go_live"] and "15 minutes" in viewer["reasons"]["go_live"]
    assert not viewer["can_enter_room"] and viewer["reasons"]["enter_room"]


@pytest.mark.parametrize(
    ("day", "clock_time", "expected"),
    [
        ("2030-07-01", "09:00", "2030-07-01T13:00:00Z"),  # EDT, UTC-4
        ("2030-12-02", "09:00", "2030-12-02T14:00:00Z"),  # EST, UTC-5
        ("2030-11-03", "01:30", "2030-11-03T05:30:00Z"),  # happens twice: the first (EDT) is taken
    ],
)
async def test_schedule_follows_daylight_saving(people: People, day: str, clock_time: str, expected: str) -> None:
    fields = session_fields(date=day, time=clock_time, timezone="America/New_York")
    del fields["start_at"]
    session = (await people.mentor.json("POST", "/api/sessions", 201, json=fields))["session"]
    assert session["start_at"] == expected


async def test_a_wall_time_skipped_by_daylight_saving_is_refused(people: People) -> None:
    fields = session_fields(date="2030-03-10", time="02:30", timezone="America/New_York")
    del fields["start_at"]
    body = await people.mentor.json("POST", "/api/sessions", 400, json=fields)
    assert body["field"] == "time" and "does not exist" in body["error"]


async def test_each_bad_field_is_named_and_nothing_is_saved(people: People) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": ""}, "title"),
        ({"domain_tags": []}, "domain_tags"),
        ({"start_at": "2029-12-31T23:00:00Z"}, "start_at"),
        ({"start_at": "2030-01-01T09:00:00Z"}, "start_at"),  # exactly now is not the future
        ({"start_at": "tomorrow"}, "start_at"),
        ({"start_at": None, "date": "2030-01-05"}, "time"),
        ({"start_at": None, "time": "10:00"}, "date"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"capacity": 0}, "capacity"),
        ({"price_paise": -1}, "price_paise"),
        ({"price_paise": 50}, "price_paise"),
        ({"price_paise": None, "price_rupees": "12.345"}, "price_rupees"),
        ({"duration_minutes": 5}, "duration_minutes"),
        ({"record": "maybe"}, "record"),
    ]
    for change, field in cases:
        body = await people.mentor.json("POST", "/api/sessions", 400, json=session_fields(**change))
        assert body["field"] == field, (change, body)
        assert body["error"]
    assert await session_count(people.mentor) == 0


async def test_only_mentors_create(people: People) -> None:
    assert (await people.learner.post("/api/sessions", json=session_fields())).status == 403
    assert (await people.anonymous.post("/api/sessions", json=session_fields())).status == 401
    assert await session_count(people.mentor) == 0


async def test_free_by_default_and_room_codes_are_unique_and_private(people: People) -> None:
    first = await create_session(people.mentor, price_paise=None)
    second = await create_session(people.mentor)
    assert first["price_paise"] == 0 and first["price_display"] == "Free"
    assert first["room_code"] != second["room_code"]
    for viewer in (people.learner, people.anonymous, people.other_mentor):
        seen = await viewer.json("GET", f"/api/sessions/{first['id']}", 200)
        assert seen["session"]["room_code"] is None


async def test_multipart_with_a_real_png_is_resized_to_a_jpeg_and_served(people: People) -> None:
    fields = session_fields(domain_tags=["python", "asyncio"])
    body = await people.mentor.json("POST", "/api/sessions", 201, data=multipart(fields, png_bytes(1600, 900)))
    session = body["session"]
    assert session["domain_tags"] == ["python", "asyncio"]
    url = session["thumbnail_url"]
    assert url.startswith("/media/thumbnails/") and url.endswith(".jpg")
    served = await people.anonymous.get(url)
    assert served.status == 200
    image = Image.open(io.BytesIO(await served.read()))
    assert image.format == "JPEG"
    assert image.size == (640, 360), "longest side brought to [sessions] thumbnail_size, aspect kept"
    assert len(thumbnail_files(people.mentor)) == 1


async def test_an_image_is_judged_by_content_not_by_its_name_or_type(people: People) -> None:
    picture = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    picture.paste((200, 0, 0, 255), (50, 25, 150, 75))
    raw = io.BytesIO()
    picture.save(raw, format="WEBP", lossless=True)
    form = multipart(session_fields(), raw.getvalue(), filename="notes.txt", content_type="text/plain")
    session = (await people.mentor.json("POST", "/api/sessions", 201, data=form))["session"]
    served = Image.open(io.BytesIO(await (await people.anonymous.get(session["thumbnail_url"])).read()))
    assert served.format == "JPEG" and served.size == (200, 100), "smaller images are not enlarged"
    corner, middle = served.getpixel((5, 5)), served.getpixel((100, 50))
    assert isinstance(corner, tuple) and isinstance(middle, tuple)
    assert all(channel > 245 for channel in corner), "transparency turns white, not black"
    assert middle[0] > 150 and middle[1] < 60


async def test_a_text_file_named_png_is_refused_and_saves_nothing(people: People) -> None:
    form = multipart(session_fields(), b"this is not an image at all\n" * 20, filename="cover.png")
    body = await people.mentor.json("POST", "/api/sessions", 400, data=form)
    assert body["field"] == "thumbnail"
    assert "image" in body["error"]
    assert await session_count(people.mentor) == 0
    assert thumbnail_files(people.mentor) == []


async def test_a_truncated_png_is_refused(people: People) -> None:
    form = multipart(session_fields(), png_bytes()[:400])
    body = await people.mentor.json("POST", "/api/sessions", 400, data=form)
    assert body["field"] == "thumbnail"
    assert await session_count(people.mentor) == 0


async def test_an_oversized_image_is_refused_and_saves_nothing(people: People) -> None:
    limit = people.mentor.app[CONFIG].int("sessions", "thumbnail_max_bytes")
    # A valid PNG padded past the limit: the size alone must refuse it.
    oversized = png_bytes(64, 64) + b"\0" * (limit + 1)
    body = await people.mentor.json("POST", "/api/sessions", 400, data=multipart(session_fields(), oversized))
    assert body["field"] == "thumbnail"
    assert "5 MB" in body["error"]
    assert await session_count(people.mentor) == 0
    assert thumbnail_files(people.mentor) == []


async def test_a_bad_field_after_a_good_thumbnail_saves_no_file(people: People) -> None:
    form = multipart(session_fields(capacity=0), png_bytes())
    body = await people.mentor.json("POST", "/api/sessions", 400, data=form)
    assert body["field"] == "capacity"
    assert thumbnail_files(people.mentor) == []
    assert await session_count(people.mentor) == 0


async def test_mentor_profile_is_public(people: People) -> None:
    mentor_id = (await people.mentor.json("GET", "/api/me", 200))["id"]
    body = await people.anonymous.json("GET", f"/api/mentors/{mentor_id}", 200)
    assert body["mentor"] == {
        "id": mentor_id, "name": "Maya Mentor", "headline": "Principal engineer",
        "bio": "Twenty years of building distributed systems.", "expertise": ["system design", "python"],
        "rating": None,
    }
    learner_id = (await people.learner.json("GET", "/api/me", 200))["id"]
    assert (await people.anonymous.get(f"/api/mentors/{learner_id}")).status == 404


async def test_a_broken_multipart_body_is_a_clear_400_and_saves_nothing(people: People) -> None:
    # A boundary that never closes and a part without headers: the client's mistake, never a 500.
    broken = b"--xyz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nA title\r\n--xyz\r\nno-header-end"
    response = await people.mentor.post(
        "/api/sessions", data=broken, headers={"Content-Type": "multipart/form-data; boundary=xyz"}
    )
    assert response.status == 400, await response.text()
    assert "error" in await response.json()
    listed = await people.mentor.json("GET", "/api/sessions/mine?tab=upcoming", 200)
    assert listed["sessions"] == []
