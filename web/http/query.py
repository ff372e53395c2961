"""The address's own inputs (query parameters and path segments) pass the same text check as a JSON body.

A `?q=%00` reaches PostgreSQL as a NUL in a LIKE pattern (a 500 there, a match on SQLite); a path's `{room_code}`
goes into a WHERE clause the same way. One middleware checks them all before any handler runs, with a 400
naming the parameter.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from web.errors import bad_request
from web.http.fields import UNSAFE_CHARS, safe_text

# Far above any address the pages build (a search with every filter is under 300 characters).
MAX_QUERY_VALUE_CHARS = 2000


@web.middleware
async def address_text_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    for key, value in request.query.items():
        if UNSAFE_CHARS.search(key):
            raise bad_request("A query parameter's name contains characters that are not allowed.")
        safe_text(value, key)
        if len(value) > MAX_QUERY_VALUE_CHARS:
            raise bad_request(f"The {key} parameter is too long.", key)
    for key, value in request.match_info.items():
        safe_text(value, key)
    return await handler(request)
