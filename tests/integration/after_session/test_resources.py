"""Upload Resources: who may share, list and download; types judged by content; the size limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.clock import ManualClock
from tests.integration.after_session.cast import Cast, run_session
from tests.integration.after_session.files import (
    EXE,
    GIF,
    JPEG,
    PDF,
    WEBP,
    ooxml,
    small_png,
    upload_form,
    zip_of,
)
from tests.integration.sessions.helpers import create_session
from tests.support.api import ApiClient
from web.keys import CONFIG


def stored_files(client: ApiClient) -> list[Path]:
    folder = client.app[CONFIG].var_dir / "resources"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


async def upload(client: ApiClient, sid: int, expect: int, data: bytes, filename: str = "notes.pdf",
                 title: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = await client.json("POST", f"/api/sessions/{sid}/resources", expect,
                                             data=upload_form(data, filename, title))
    return body


async def test_mentor_and_admin_share_others_may_not(cast: Cast, clock: ManualClock, tmp_path: Path) -> None:
    sid = (await run_session(cast, clock))["id"]
    expected = {"other_mentor": 403, "booked_learner": 403, "unbooked_learner": 403, "signed_out": 401}
    for who, status in expected.items():
        response = await cast.everyone()[who].post(f"/api/sessions/{sid}/resources", data=upload_form(PDF))
        assert (who, response.status) == (who, status)
        assert "error" in await response.json()
    assert stored_files(cast.mentor) == []

    body = await upload(cast.mentor, sid, 201, PDF, "Week 1 — slides.pdf", title="Slides")
    resource = body["resource"]
    assert resource["title"] == "Slides"
    assert resource["content_type"] == "application/pdf"
    assert resource["size_bytes"] == len(PDF)
    assert resource["created_at"] == "2030-01-01T10:00:00Z"
    assert resource["download_url"] == f"/resources/{resource['id']}/download"
    by_admin = (await upload(cast.admin, sid, 201, small_png(), "board.png"))["resource"]
    assert by_admin["title"] == "board"
    files = stored_files(cast.mentor)
    assert len(files) == 2
    # Under the configured data folder (the test's own), never in the checkout.
    assert all(f.is_relative_to(tmp_path / "data" / "resources") for f in files)


async def test_sharing_opens_when_the_session_goes_live(cast: Cast, clock: ManualClock) -> None:
    scheduled = await create_session(cast.mentor)
    body = await upload(cast.mentor, scheduled["id"], 409, PDF)
    assert "live" in body["error"]
    live = await run_session(cast, clock, end=False)
    await upload(cast.mentor, live["id"], 201, PDF)
    cancelled = await create_session(cast.mentor, start_at="2030-01-05T10:00:00Z")
    await cast.mentor.json("POST", f"/api/sessions/{cancelled['id']}/cancel", 200)
    await upload(cast.mentor, cancelled["id"], 409, PDF)
    assert len(stored_files(cast.mentor)) == 1


async def test_listing_and_downloading_are_for_the_sessions_people(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    first = (await upload(cast.mentor, sid, 201, PDF, "Week 1 — slides.pdf"))["resource"]
    second = (await upload(cast.mentor, sid, 201, b"print('hi')\n", "snippet.py", title="Code"))["resource"]

    for who in ("mentor", "admin", "booked_learner"):
        client = cast.everyone()[who]
        listed = await client.json("GET", f"/api/sessions/{sid}/resources", 200)
        assert [r["id"] for r in listed["resources"]] == [first["id"], second["id"]], who
        response = await client.get(first["download_url"])
        assert response.status == 200, who
        assert await response.read() == PDF
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"] == \
            "attachment; filename*=UTF-8''Week%201%20%E2%80%94%20slides.pdf"
    text = await cast.learner.get(second["download_url"])
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["Content-Disposition"].endswith("''snippet.py")

    for who, status in [("other_mentor", 403), ("unbooked_learner", 403), ("signed_out", 401)]:
        client = cast.everyone()[who]
        listed_response = await client.get(f"/api/sessions/{sid}/resources")
        assert (who, listed_response.status) == (who, status)
        refused = await client.get(first["download_url"])
        assert (who, refused.status) == (who, status)
        body = await refused.json()
        # Nothing about the file leaks to those who may not have it.
        assert set(body) == {"error"} and "slides" not in body["error"] and "pdf" not in body["error"].lower()
        assert "Content-Disposition" not in refused.headers
    assert (await cast.learner.get("/resources/424242/download")).status == 404
    assert (await cast.learner.get("/resources/99999999999999999999/download")).status == 404
    assert (await cast.learner.get("/api/sessions/424242/resources")).status == 404


@pytest.mark.parametrize(("data", "filename", "content_type", "download_name"), [
    (small_png(), "diagram.pdf", "image/png", "diagram.png"),
    (PDF, "handout", "application/pdf", "handout.pdf"),
    (JPEG, "photo.JPG", "image/jpeg", "photo.JPG"),
    (GIF, "anim.gif", "image/gif", "anim.gif"),
    (WEBP, "pic.webp", "image/webp", "pic.webp"),
    (ooxml("ppt"), "deck.zip",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation", "deck.pptx"),
    (ooxml("word"), "essay.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "essay.docx"),
    (ooxml("xl"), "sheet.xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "sheet.xlsx"),
    (zip_of({"a.txt": b"a"}), "bundle.pptx", "application/zip", "bundle.zip"),
    ("Notes: naïve café ✓\n".encode(), "notes.md", "text/plain", "notes.md"),
    (b"plain words", "looks.pdf", "text/plain", "looks.txt"),
])
async def test_type_is_judged_by_content(cast: Cast, clock: ManualClock, data: bytes, filename: str,
                                         content_type: str, download_name: str) -> None:
    sid = (await run_session(cast, clock))["id"]
    resource = (await upload(cast.mentor, sid, 201, data, filename))["resource"]
    assert resource["content_type"] == content_type
    assert resource["filename"] == download_name
    response = await cast.learner.get(resource["download_url"])
    assert response.headers["Content-Type"].split(";")[0] == content_type
    assert await response.read() == data


@pytest.mark.parametrize(("data", "filename"), [
    (EXE, "slides.pdf"),
    (b"PK\x03\x04 not really a zip", "archive.zip"),
    (b"\xff\xfe\x00h\x00i", "utf16.txt"),
    (b"valid start \xc3\x28 broken utf-8", "broken.txt"),
    (b"text with a \x00 NUL", "nul.txt"),
    (b"\x89PN", "cut.png"),
])
async def test_unaccepted_content_is_a_415_and_leaves_nothing(cast: Cast, clock: ManualClock, data: bytes,
                                                              filename: str) -> None:
    sid = (await run_session(cast, clock))["id"]
    body = await upload(cast.mentor, sid, 415, data, filename)
    assert body["field"] == "file"
    assert stored_files(cast.mentor) == []
    assert (await cast.mentor.json("GET", f"/api/sessions/{sid}/resources", 200))["resources"] == []
