"""The `{id}` of every /api/sessions/{id}/… URL, shared by the sessions, bookings, room and payments endpoints."""

from __future__ import annotations

from aiohttp import web

from web.errors import not_found
from web.http.fields import row_id

SESSION_ID = r"{id:[0-9]+}"


def session_id_of(request: web.Request) -> int:
    session_id = row_id(request.match_info["id"])
    if session_id is None:
        raise not_found("No such session.")
    return session_id
