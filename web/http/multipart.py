"""Walking a multipart form: one part at a time, a bounded number of parts, a clear 400 for a broken body.

`client_max_size` does not bound a streamed multipart body, so the part count must; and aiohttp's
reader raises several kinds of error on a malformed body, each of which is the client's mistake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from web.errors import bad_request
from web.http.fields import safe_text

# What aiohttp's multipart reader raises on a body that is not a well-formed form.
MULTIPART_ERRORS = (ValueError, LookupError, AssertionError, HttpProcessingError)


async def form_parts(
    request: web.Request, *, max_parts: int, field: str | None = None
) -> AsyncIterator[BodyPartReader]:
    """Yield the form's parts in order; `field` names the field a 400 points at."""
    try:
        reader = await request.multipart()
    except MULTIPART_ERRORS:
        raise bad_request("The upload is not a readable multipart form.", field) from None
    count = 0
    while True:
        try:
            part = await reader.next()
        except MULTIPART_ERRORS:
            raise bad_request("The upload is not a readable multipart form.", field) from None
        if part is None:
            return
        count += 1
        if count > max_parts:
            raise bad_request("The form has too many fields.")
        if not isinstance(part, BodyPartReader):
            raise bad_request("Nested multipart bodies are not accepted.")
        yield part


def part_text(data: bytes, part: BodyPartReader, field: str | None) -> str:
    """A text part's bytes as text in its declared charset (UTF-8 when none); broken bytes become U+FFFD, an
    unknown charset is a 400, and the text passes the same check as a JSON body's."""
    try:
        value = data.decode(part.get_charset(default="utf-8"), errors="replace")
    except LookupError:
        raise bad_request("The form uses a character set we cannot read.", field) from None
    return safe_text(value, field)
