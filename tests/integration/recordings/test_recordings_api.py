"""Recordings from reported windows to a download: composed part by part while recording, finished by the
session's end, fetched only by the people it belongs to, resumed after a failure, kept `keep_days`."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlmodel import select

from models.clock import ManualClock
from models.tables import Notification, Recording, RecordingSegment
from tests.conftest import make_config
from tests.integration.after_session.cast import Cast, run_session
from tests.integration.recordings.synthetic import recorded_session
from tests.support.recordings import BLUE, RED, decode_mp4, tone_level
from web.config import Config
from web.jobs import JOB_RUNNER
from web.keys import DB
from web.recordings.compose import part as part_module
from web.recordings.storage import recordings_root


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # Jobs run when the test says so.
    return make_config(tmp_path, recordings={"finish_timeout_seconds": 10.0})


async def run_jobs(app: web.Application) -> None:
    await app[JOB_RUNNER].run_due()


async def status(cast: Cast, session_id: int) -> dict:
    return (await cast.mentor.json("GET", f"/api/sessions/{session_id}/recording", 200))["recording"]


async def segment_rows(app: web.Application) -> list[RecordingSegment]:
    async with app[DB].session() as s:
        return list((await s.exec(select(RecordingSegment))).all())


async def test_windows_are_composed_while_recording_and_the_end_finishes_the_mp4(
    cast: Cast, clock: ManualClock, app: web.Application, config: Config
) -> None:
    recorded = await recorded_session(cast, clock, app, windows=3, length=1.0, end=False)
    sid = recorded.session["id"]
    assert (await status(cast, sid))["status"] == "recording"
    await run_jobs(app)
    rows = await segment_rows(app)
    assert len(rows) == 3 and all(row.part_path for row in rows), "every reported window is already composed"
    during = await status(cast, sid)
    assert during["status"] == "recording" and 0 < during["progress"] < 1 and during["download_url"] is None

    await cast.mentor.json("POST", f"/api/sessions/{sid}/end", 200)
    assert (await status(cast, sid))["status"] == "processing"
    await run_jobs(app)
    body = await status(cast, sid)
    assert body["status"] == "ready" and body["progress"] == 1
    assert abs(body["duration_seconds"] - 3.0) < 0.1
    assert body["download_url"] == f"/recordings/{body['id']}/download"
    assert body["raw_url"] and body["transcript_url"] and body["whiteboard_url"]
    assert body["shared_with_attendees"] is False

    data = await (await cast.mentor.get(body["download_url"])).read()
    path = recordings_root(config) / "got.mp4"
    path.write_bytes(data)
    videos, audios, duration, audio, pictures = decode_mp4(path)
    assert videos == ["h264"] and audios == ["aac"] and abs(duration - 3.0) < 0.1
    # Joined without a seam: both pictures in every part, both voices throughout.
    for _t, frame in pictures:
        assert abs(int(frame[360, 320][0]) - RED[0]) < 45 and abs(int(frame[360, 960][2]) - BLUE[2]) < 45
    for second in range(3):
        chunk = audio[second * 48000 + 4800:(second + 1) * 48000 - 4800]
        assert tone_level(chunk, 440) > 0.03 and tone_level(chunk, 880) > 0.03
    async with app[DB].session() as s:
        notes = (await s.exec(select(Notification).where(Notification.kind == "recording_ready"))).all()
    assert [n.title for n in notes] == ["Your recording is ready"]


async def test_only_the_mentor_admins_and_shared_attendees_may_fetch_it(
    cast: Cast, clock: ManualClock, app: web.Application
) -> None:
    recorded = await recorded_session(cast, clock, app, windows=1)
    await run_jobs(app)
    sid = recorded.session["id"]
    body = await status(cast, sid)
    download, api = body["download_url"], f"/api/sessions/{sid}/recording"

    async def codes() -> dict[str, tuple[int, int]]:
        out = {}
        for who, client in cast.everyone().items():
            got_api = await client.get(api)
            got_file = await client.get(download)
            out[who] = (got_api.status, got_file.status)
            if got_file.status == 403:
                # Nothing about the file reaches someone who may not have it.
                assert set(await got_file.json()) == {"error"}
                assert got_file.headers.get("Content-Disposition") is None
        return out

    assert await codes() == {"mentor": (200, 200), "other_mentor": (403, 403), "booked_learner": (403, 403),
                             "unbooked_learner": (403, 403), "admin": (200, 200), "signed_out": (401, 401)}
    await cast.mentor.json("PUT", f"/api/sessions/{sid}/recording/share", 200, json={"shared": True})
    assert await codes() == {"mentor": (200, 200), "other_mentor": (403, 403), "booked_learner": (200, 200),
                             "unbooked_learner": (403, 403), "admin": (200, 200), "signed_out": (401, 401)}
    shared = (await cast.learner.json("GET", api, 200))["recording"]
    assert shared["shared_with_attendees"] is True and shared["raw_url"] is None
    assert (await cast.learner.get(f"/recordings/{body['id']}/raw")).status == 403
    # Only the mentor decides about sharing.
    await cast.learner.json("PUT", f"/api/sessions/{sid}/recording/share", 403, json={"shared": False})
    await cast.other_mentor.json("PUT", f"/api/sessions/{sid}/recording/share", 403, json={"shared": False})
    # A session that was not recorded.
    plain = await run_session(cast, clock)
    await cast.mentor.json("GET", f"/api/sessions/{plain['id']}/recording", 404)
    await cast.other_mentor.json("GET", f"/api/sessions/{plain['id']}/recording", 403)


async def test_download_answers_range_requests_with_a_good_file_name(
    cast: Cast, clock: ManualClock, app: web.Application
) -> None:
    recorded = await recorded_session(cast, clock, app, windows=2)
    await run_jobs(app)
    body = await status(cast, recorded.session["id"])
    whole = await cast.mentor.get(body["download_url"])
    data = await whole.read()
    assert whole.headers["Content-Type"] == "video/mp4" and whole.headers["Accept-Ranges"] == "bytes"
    disposition = whole.headers["Content-Disposition"]
    assert 'filename="Design review caching 2030-01-01.mp4"' in disposition
    part = await cast.mentor.get(body["download_url"], headers={"Range": "bytes=100-1099"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert await part.read() == data[100:1100]
    tail = await cast.mentor.get(body["download_url"], headers={"Range": "bytes=-500"})
    assert tail.status == 206 and await tail.read() == data[-500:]


async def test_raw_tracks_zip_holds_the_originals_the_transcript_and_the_whiteboard(
    cast: Cast, clock: ManualClock, app: web.Application
) -> None:
    recorded = await recorded_session(cast, clock, app, windows=2)
    await run_jobs(app)
    body = await status(cast, recorded.session["id"])
    raw = await cast.mentor.get(body["raw_url"])
    assert raw.status == 200 and "raw tracks.zip" in raw.headers["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(await raw.read())).namelist()
    assert sorted(n for n in names if not n.startswith("tracks/")) == ["chat.txt", "whiteboard.png"]
    assert len([n for n in names if n.startswith("tracks/")]) == 8
    transcript = await cast.mentor.get(body["transcript_url"])
    assert (await transcript.text()).startswith("Chat transcript: Design review: caching")
    board = await cast.mentor.get(body["whiteboard_url"])
    assert board.headers["Content-Type"] == "image/png" and (await board.read())[:4] == b"\x89PNG"


async def test_a_node_that_stops_reporting_leaves_a_partial_recording_of_what_exists(
    cast: Cast, clock: ManualClock, app: web.Application
) -> None:
    # Two windows arrive, then the node dies: no final window, no room end.
    recorded = await recorded_session(cast, clock, app, windows=2, final=False)
    sid = recorded.session["id"]
    await run_jobs(app)
    assert (await status(cast, sid))["status"] == "processing", "waits a little for the last window"
    clock.advance(timedelta(seconds=11))
    await run_jobs(app)
    body = await status(cast, sid)
    assert body["status"] == "partial" and abs(body["duration_seconds"] - 2.0) < 0.1
    assert (await cast.mentor.get(body["download_url"])).status == 200


async def test_a_failing_composition_retries_then_fails_with_a_reason_and_the_mentor_can_retry(
    cast: Cast, clock: ManualClock, app: web.Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = await recorded_session(cast, clock, app, windows=2, end=False)
    sid = recorded.session["id"]
    real = part_module.compose_window
    calls: list[int] = []

    def first_part_then_fail(window, out, settings):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("disk full")
        real(window, out, settings)

    monkeypatch.setattr("web.recordings.pipeline.compose_window", first_part_then_fail)
    await run_jobs(app)
    finished_first = [row for row in await segment_rows(app) if row.part_path]
    assert len(finished_first) == 1
    # The job retries by itself with a growing delay, then gives up.
    for _attempt in range(10):
        clock.advance(timedelta(hours=1))
        await run_jobs(app)
    body = await status(cast, sid)
    assert body["status"] == "failed" and "disk full" in body["error"] and body["can_manage"]
    await cast.learner.json("POST", f"/api/recordings/{body['id']}/retry", 403)

    def counted(window, out, settings):  # type: ignore[no-untyped-def]
        calls.append(1)
        real(window, out, settings)

    monkeypatch.setattr("web.recordings.pipeline.compose_window", counted)
    calls.clear()
    retried = (await cast.mentor.json("POST", f"/api/recordings/{body['id']}/retry", 200))["recording"]
    assert retried["status"] == "processing"
    # (The session itself was ended meanwhile by the empty-room job, hours past its end.)
    await run_jobs(app)
    body = await status(cast, sid)
    assert body["status"] == "ready" and abs(body["duration_seconds"] - 2.0) < 0.1
    # Resumed from the last finished part: only the second window was composed again.
    assert len(calls) == 1


async def test_retention_deletes_only_old_recordings_and_the_mentor_can_delete_one(
    cast: Cast, clock: ManualClock, app: web.Application, config: Config
) -> None:
    old = await recorded_session(cast, clock, app, windows=1)
    await run_jobs(app)
    clock.advance(timedelta(days=60))
    new = await recorded_session(cast, clock, app, windows=1)
    await run_jobs(app)
    root = recordings_root(config)
    assert (root / old.room_code).is_dir() and (root / new.room_code).is_dir()
    usage = (await cast.admin.json("GET", "/api/admin/recordings/usage", 200))["mentors"]
    assert len(usage) == 1 and usage[0]["recordings"] == 2 and usage[0]["bytes"] > 0
    await cast.mentor.json("GET", "/api/admin/recordings/usage", 403)

    clock.advance(timedelta(days=31))  # the old one is 91 days old, the new one 31
    await run_jobs(app)
    assert (await status(cast, old.session["id"]))["status"] == "expired"
    assert not (root / old.room_code).exists()
    newer = await status(cast, new.session["id"])
    assert newer["status"] == "ready" and (root / new.room_code).is_dir()
    assert (await cast.mentor.get(f"/recordings/{newer['id']}/download")).status == 200

    await cast.other_mentor.json("DELETE", f"/api/recordings/{newer['id']}", 403)
    deleted = (await cast.mentor.json("DELETE", f"/api/recordings/{newer['id']}", 200))["recording"]
    assert deleted["status"] == "deleted" and deleted["download_url"] is None
    assert not (root / new.room_code).exists()
    assert (await cast.mentor.get(f"/recordings/{newer['id']}/download")).status == 410
    async with app[DB].session() as s:
        rows = (await s.exec(select(Recording))).all()
    assert sorted(r.status for r in rows) == ["deleted", "expired"]
