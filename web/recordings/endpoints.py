"""/api/sessions/{id}/recording (+ /share), /api/recordings/{id}/retry, DELETE /api/recordings/{id},
/api/admin/recordings/usage, and the files: /recordings/{id}/download (Range requests), /raw (zip),
/transcript, /whiteboard."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from models.enums import RecordingStatus, Role
from web.errors import ApiError, bad_request, forbidden, not_found
from web.http.body import json_object
from web.http.fields import row_id
from web.http.identity import Identity, require_identity
from web.keys import CONFIG, DB
from web.recordings import service
from web.recordings.queries import (
    Access,
    recording_and_access,
    recording_of_session,
    session_and_access,
    usage_by_mentor,
)
from web.recordings.schemas import PLAYABLE, attachment, file_stem, recording_json
from web.recordings.storage import absolute, recordings_root
from web.sessions.paths import SESSION_ID, session_id_of

routes = web.RouteTableDef()
NOT_RECORDED = "This session was not recorded."
GONE = "This recording is no longer available."


def _recording_id(request: web.Request) -> int:
    value = row_id(request.match_info["id"])
    if value is None:
        raise not_found("No such recording.")
    return value


@routes.get(f"/api/sessions/{SESSION_ID}/recording")
async def get_recording(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    async with request.app[DB].session() as s:
        session, access = await session_and_access(s, identity, session_id_of(request))
        recording = await recording_of_session(s, session_id_of(request))
    if recording is None:
        raise not_found(NOT_RECORDED)
    return web.json_response({"recording": recording_json(recording, session, access)})


@routes.put(f"/api/sessions/{SESSION_ID}/recording/share")
async def share(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    body = await json_object(request)
    shared = body.get("shared")
    if not isinstance(shared, bool):
        raise bad_request("`shared` must be true or false.", field="shared")
    session_id = session_id_of(request)
    await service.set_shared(request.app, identity, session_id, shared)
    return web.json_response({"shared_with_attendees": shared})


@routes.post(r"/api/recordings/{id:[0-9]+}/retry")
async def retry(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    await service.retry(request.app, identity, _recording_id(request))
    return await _current(request, identity)


@routes.delete(r"/api/recordings/{id:[0-9]+}")
async def delete(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    await service.delete(request.app, identity, _recording_id(request))
    return await _current(request, identity)


async def _current(request: web.Request, identity: Identity) -> web.Response:
    """The recording as it stands after a change, in the changer's view."""
    async with request.app[DB].session() as s:
        recording, session, access = await recording_and_access(s, identity, _recording_id(request))
    return web.json_response({"recording": recording_json(recording, session, access)})


@routes.get("/api/admin/recordings/usage")
async def usage(request: web.Request) -> web.Response:
    await require_identity(request, Role.ADMIN)
    async with request.app[DB].session() as s:
        rows = await usage_by_mentor(s)
    return web.json_response({"mentors": rows})


async def _file(request: web.Request, which: str, *, managers_only: bool = False) -> tuple[Path, str]:
    identity = await require_identity(request)
    async with request.app[DB].session() as s:
        recording, session, access = await recording_and_access(s, identity, _recording_id(request))
    if managers_only and access not in (Access.OWNER, Access.ADMIN):
        raise forbidden("Only the session's mentor or an admin can get the raw tracks.")
    if recording.status not in PLAYABLE:
        if recording.status in (RecordingStatus.EXPIRED, RecordingStatus.DELETED):
            raise ApiError(410, GONE)
        raise ApiError(409, "The recording is not ready yet.")
    stored = getattr(recording, which)
    path = absolute(recordings_root(request.app[CONFIG]), stored) if stored else None
    if path is None or not path.is_file():
        raise ApiError(410, GONE)
    return path, file_stem(session)


@routes.get(r"/recordings/{id:[0-9]+}/download")
async def download(request: web.Request) -> web.StreamResponse:
    path, stem = await _file(request, "path")
    # FileResponse answers Range requests (206 with Content-Range), so the player can seek.
    headers = {**attachment(f"{stem}.mp4"), "Cache-Control": "private, no-store"}
    if request.query.get("inline"):
        headers["Content-Disposition"] = "inline"
    response = web.FileResponse(path, headers=headers)
    response.content_type = "video/mp4"
    return response


@routes.get(r"/recordings/{id:[0-9]+}/raw")
async def raw(request: web.Request) -> web.StreamResponse:
    path, stem = await _file(request, "raw_path", managers_only=True)
    response = web.FileResponse(path, headers={**attachment(f"{stem} raw tracks.zip"),
                                               "Cache-Control": "private, no-store"})
    response.content_type = "application/zip"
    return response


@routes.get(r"/recordings/{id:[0-9]+}/transcript")
async def transcript(request: web.Request) -> web.StreamResponse:
    path, stem = await _file(request, "transcript_path")
    response = web.FileResponse(path, headers={**attachment(f"{stem} chat.txt"), "Cache-Control": "private, no-store"})
    response.content_type = "text/plain"
    response.charset = "utf-8"
    return response


@routes.get(r"/recordings/{id:[0-9]+}/whiteboard")
async def whiteboard(request: web.Request) -> web.StreamResponse:
    path, stem = await _file(request, "whiteboard_path")
    headers = {"Cache-Control": "private, no-store"}
    if request.query.get("download"):
        headers.update(attachment(f"{stem} whiteboard.png"))
    response = web.FileResponse(path, headers=headers)
    response.content_type = "image/png"
    return response
