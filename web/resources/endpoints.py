"""Upload Resources: /api/sessions/{id}/resources, /api/resources/{id} and /resources/{id}/download."""

from __future__ import annotations

from aiohttp import web

from web.errors import ApiError, forbidden, not_found
from web.http.fields import row_id
from web.http.identity import require_identity
from web.keys import CLOCK, CONFIG, DB
from web.resources.queries import NOT_FOR_YOU, may_see, resources_of, session_of, visible_resource
from web.resources.schemas import download_headers, resource_json
from web.resources.service import add_resource, check_upload_allowed, delete_resource
from web.resources.storage import max_upload_bytes, resource_store
from web.resources.upload import receive_upload

routes = web.RouteTableDef()


def _id(request: web.Request, what: str) -> int:
    value = row_id(request.match_info["id"])
    if value is None:
        raise not_found(f"No such {what}.")
    return value


@routes.post(r"/api/sessions/{id:[0-9]+}/resources")
async def upload(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    db, config = request.app[DB], request.app[CONFIG]
    mentor_session = await check_upload_allowed(db, identity, _id(request, "session"))
    store = resource_store(config)
    received = await receive_upload(request, store, max_upload_bytes(config))
    row = await add_resource(db, request.app[CLOCK], store, identity, mentor_session, received)
    return web.json_response({"resource": resource_json(row)}, status=201)


@routes.get(r"/api/sessions/{id:[0-9]+}/resources")
async def list_resources(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    session_id = _id(request, "session")
    async with request.app[DB].session() as s:
        mentor_session = await session_of(s, session_id)
        if not await may_see(s, mentor_session, identity):
            raise forbidden(NOT_FOR_YOU)
        rows = (await resources_of(s, [session_id])).get(session_id, [])
    return web.json_response({"resources": [resource_json(row) for row in rows]})


@routes.delete(r"/api/resources/{id:[0-9]+}")
async def remove(request: web.Request) -> web.Response:
    identity = await require_identity(request)
    await delete_resource(request.app[DB], resource_store(request.app[CONFIG]), identity, _id(request, "resource"))
    return web.Response(status=204)


@routes.get(r"/resources/{id:[0-9]+}/download")
async def download(request: web.Request) -> web.StreamResponse:
    identity = await require_identity(request)
    async with request.app[DB].session() as s:
        row = await visible_resource(s, _id(request, "resource"), identity)
    path = resource_store(request.app[CONFIG]).path_of(row.path)
    if path is None or not path.is_file():
        raise ApiError(410, "This file is no longer available.")
    return web.FileResponse(path, headers=download_headers(row))
