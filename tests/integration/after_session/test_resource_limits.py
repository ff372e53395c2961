"""The upload size limit, malformed uploads and removing a resource: clear answers, nothing left behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from models.clock import ManualClock
from tests.conftest import make_config
from tests.integration.after_session.cast import Cast, run_session
from tests.integration.after_session.files import PDF, upload_form
from tests.integration.after_session.test_resources import stored_files
from web.config import Config

LIMIT = 4096


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, resources={"max_bytes": LIMIT})


async def test_a_file_over_the_limit_is_a_413_and_leaves_nothing(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    exactly = b"a" * LIMIT
    await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 201, data=upload_form(exactly, "a.txt"))
    assert len(stored_files(cast.mentor)) == 1

    # Just over: the body is read as it streams and cut off at the limit.
    body = await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 413,
                                  data=upload_form(exactly + b"a", "b.txt"))
    assert body["field"] == "file"
    assert "MB" in body["error"]

    # Far over, sent in chunks without a length: the limit still holds.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"b" * 1024

    form = aiohttp.FormData(quote_fields=False)
    form.add_field("file", chunks(), filename="c.txt", content_type="text/plain")
    await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 413, data=form)

    # Far over with a declared length: refused before reading.
    await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 413,
                           data=upload_form(b"c" * (LIMIT * 40), "d.txt"))
    assert len(stored_files(cast.mentor)) == 1
    listed = await cast.mentor.json("GET", f"/api/sessions/{sid}/resources", 200)
    assert [r["size_bytes"] for r in listed["resources"]] == [LIMIT]


async def _raw_upload(cast: Cast, sid: int, body: bytes, content_type: str) -> tuple[int, dict[str, object]]:
    response = await cast.mentor.post(f"/api/sessions/{sid}/resources", data=body,
                                      headers={"Content-Type": content_type})
    return response.status, await response.json()


@pytest.mark.parametrize(("body", "content_type"), [
    (b"", "multipart/form-data; boundary=xyz"),
    (b"--xyz--\r\n", "multipart/form-data; boundary=xyz"),
    (b"garbage without any boundary", "multipart/form-data; boundary=xyz"),
    (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n\r\n--xyz--\r\n",
     "multipart/form-data; boundary=xyz"),
    (b"--xyz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nOnly a title\r\n--xyz--\r\n",
     "multipart/form-data; boundary=xyz"),
    (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello",
     "multipart/form-data; boundary=xyz"),
    (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="\x1b[31m.pdf"\r\n\r\n%PDF-1.4\r\n--xyz--\r\n',
     "multipart/form-data; boundary=xyz"),
    (b"some bytes", "multipart/form-data"),
    (b'{"file": "x"}', "application/json"),
    (PDF, "application/pdf"),
])
async def test_malformed_uploads_are_a_400(cast: Cast, clock: ManualClock, body: bytes, content_type: str) -> None:
    sid = (await run_session(cast, clock))["id"]
    status, answer = await _raw_upload(cast, sid, body, content_type)
    assert status == 400, answer
    assert answer["error"]
    assert stored_files(cast.mentor) == []


async def test_two_files_in_one_form_are_refused(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    form = upload_form(PDF, "one.pdf")
    form.add_field("file", PDF, filename="two.pdf")
    await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 400, data=form)
    assert stored_files(cast.mentor) == []


@pytest.mark.parametrize("name", [
    b"../../etc/passwd.pdf", b"C:\\Users\\me\\slides.pdf", b"  ", b"\xff\xfe\xed\xa0\x80.pdf",
])
async def test_odd_file_names_are_tamed(cast: Cast, clock: ManualClock, name: bytes) -> None:
    sid = (await run_session(cast, clock))["id"]
    raw = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n\r\n'
           + PDF + b"\r\n--xyz--\r\n")
    status, body = await _raw_upload(cast, sid, raw, "multipart/form-data; boundary=xyz")
    assert status == 201, body
    resource = body["resource"]
    assert isinstance(resource, dict)
    assert "/" not in resource["filename"] and "\\" not in resource["filename"]
    assert resource["filename"].endswith(".pdf")
    assert all(ch >= " " for ch in resource["filename"] + resource["title"])
    assert resource["title"]


async def test_long_titles_are_a_400(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    body = await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 400,
                                  data=upload_form(PDF, title="t" * 201))
    assert body["field"] == "title"
    assert stored_files(cast.mentor) == []


async def test_only_the_mentor_or_an_admin_removes_a_resource(cast: Cast, clock: ManualClock) -> None:
    sid = (await run_session(cast, clock))["id"]
    first = (await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 201,
                                    data=upload_form(PDF)))["resource"]
    second = (await cast.mentor.json("POST", f"/api/sessions/{sid}/resources", 201,
                                     data=upload_form(PDF, "again.pdf")))["resource"]
    for who, status in [("other_mentor", 403), ("booked_learner", 403), ("unbooked_learner", 403),
                        ("signed_out", 401)]:
        response = await cast.everyone()[who].delete(f"/api/resources/{first['id']}")
        assert (who, response.status) == (who, status)
        assert "error" in await response.json()
    assert len(stored_files(cast.mentor)) == 2

    assert (await cast.mentor.delete(f"/api/resources/{first['id']}")).status == 204
    assert (await cast.admin.delete(f"/api/resources/{second['id']}")).status == 204
    assert (await cast.mentor.delete(f"/api/resources/{first['id']}")).status == 404
    assert (await cast.learner.get(first["download_url"])).status == 404
    assert stored_files(cast.mentor) == []
    assert (await cast.mentor.json("GET", f"/api/sessions/{sid}/resources", 200))["resources"] == []
