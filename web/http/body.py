"""Reading requests: a JSON object body (or a clear 400) and the client's address."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from web.errors import ApiError, bad_request

# Far above any form of the API (the longest text field is 5,000 characters), far below client_max_size,
# which is sized for multipart thumbnail uploads.
MAX_JSON_BYTES = 256 * 1024


async def json_object(request: web.Request) -> dict[str, Any]:
    too_large = ApiError(413, "The request body is too large.")
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise too_large
    raw = await request.read()
    if len(raw) > MAX_JSON_BYTES:
        raise too_large
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("The request body must be JSON.") from None
    except RecursionError:
        raise bad_request("The request body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
