"""Reading request bodies: a JSON object or a clear 400."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from web.errors import bad_request, unauthorized
from web.identity import Identity, current_identity


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("The request body must be JSON.") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


async def require_identity(request: web.Request, *roles: str) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise unauthorized()
    if roles and identity.role not in roles:
        raise web.HTTPForbidden(text=f"Only a {' or '.join(roles)} can do that.")
    return identity


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
