"""Reading requests: a JSON object body (or a clear 400) and the client's address.

Every JSON body passes one check before any endpoint sees it: no text anywhere in it (keys or values, at any
depth) holds a NUL, another control character (tab, newline and carriage return excepted) or a lone UTF-16
surrogate. The 400 names the top-level field the bad text sits in, so the form can point at it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from web.errors import ApiError, bad_request
from web.http.fields import UNSAFE_CHARS, safe_text

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
    check_texts(data)
    return data


def check_texts(data: dict[str, Any]) -> None:
    """A 400 naming the field when any text in `data`, at any depth, holds a character no form accepts."""
    for key, value in data.items():
        if not isinstance(key, str) or UNSAFE_CHARS.search(key):
            raise bad_request("A field name contains characters that are not allowed.")
        # Iterative: json.loads already bounded the depth, but a recursive walk would spend the stack again.
        pending: list[Any] = [value]
        while pending:
            item = pending.pop()
            if isinstance(item, str):
                safe_text(item, key)
            elif isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                for inner_key, inner in item.items():
                    safe_text(inner_key, key)
                    pending.append(inner)


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
