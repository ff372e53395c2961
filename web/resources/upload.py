"""Reading an Upload Resources form (multipart: `file`, optional `title`) straight to disk.

The file is never held in memory: chunks go to a temporary file while their bytes are counted and
sniffed, and the upload is cut off as soon as it passes `[resources] max_bytes`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import BodyPartReader, web

from web.errors import ApiError, bad_request
from web.http.multipart import form_parts
from web.resources.file_types import ACCEPTED_DESCRIPTION, ContentSniffer, FileType
from web.resources.storage import ResourceStore

FILE_FIELD = "file"
TITLE_FIELD = "title"
MAX_TITLE = 200
MAX_TEXT_PART = 4096
MAX_PARTS = 10
CHUNK = 64 * 1024
# Room for the form's own framing (boundaries, headers, a title) around the file itself.
FORM_OVERHEAD = 64 * 1024
# A client that keeps sending past the limit is cut off here instead of being read forever.
MAX_DRAIN = 64 * 1024 * 1024
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
# What aiohttp raises for a body that is not a well-formed multipart form (bad boundary, bad part headers).


@dataclass(frozen=True)
class ReceivedFile:
    """An accepted upload, complete on disk at `path` (still in the incoming folder)."""

    path: Path
    size: int
    original_name: str
    title: str
    file_type: FileType


def too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"The file must be at most {max_bytes / (1024 * 1024):g} MB.", field=FILE_FIELD)


def clean_name(raw: str | None, limit: int) -> str:
    """A file name or title fit to store and show: no folders, no control characters, valid UTF-8."""
    value = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = " ".join(_UNPRINTABLE.sub(" ", value).split())
    return value[:limit].strip()


async def receive_upload(request: web.Request, store: ResourceStore, max_bytes: int) -> ReceivedFile:
    if request.content_type != "multipart/form-data":
        raise bad_request("Send the file as multipart/form-data in a field named “file”.", FILE_FIELD)
    if request.content_length is not None and request.content_length > max_bytes + FORM_OVERHEAD:
        raise too_large(max_bytes)
    holder: list[Path] = []
    try:
        return await _read_parts(request, store, max_bytes, holder)
    except BaseException:
        # Refused, cut off or interrupted: whatever arrived is deleted, never kept half-way.
        for path in holder:
            path.unlink(missing_ok=True)
        raise


async def _read_parts(request: web.Request, store: ResourceStore, max_bytes: int,
                      holder: list[Path]) -> ReceivedFile:
    title = ""
    original_name = ""
    size = -1
    sniffer = ContentSniffer()
    async for part in form_parts(request, max_parts=MAX_PARTS, field=FILE_FIELD):
        if part.name == FILE_FIELD:
            if holder:
                raise bad_request("Upload one file at a time.", FILE_FIELD)
            holder.append(store.incoming_path())
            size = await _stream_to(part, holder[0], sniffer, max_bytes)
            original_name = clean_name(part.filename, 255)
        elif part.name == TITLE_FIELD:
            raw = await _read_text(part)
            title = clean_name(raw, 10 * MAX_TITLE)
            if len(title) > MAX_TITLE:
                raise bad_request(f"Title must be at most {MAX_TITLE} characters.", TITLE_FIELD)
        else:
            await _read_text(part)
    if not holder:
        raise bad_request("Choose a file to upload.", FILE_FIELD)
    if size == 0:
        raise bad_request("The file is empty.", FILE_FIELD)
    kind = await asyncio.to_thread(sniffer.file_type, holder[0])
    if kind is None:
        raise ApiError(415, f"This kind of file can't be shared. Upload a {ACCEPTED_DESCRIPTION} file.",
                       field=FILE_FIELD)
    original_name = original_name or f"resource{kind.extensions[0]}"
    return ReceivedFile(path=holder[0], size=size, original_name=original_name,
                        title=title or _title_from(original_name), file_type=kind)


async def _stream_to(part: BodyPartReader, path: Path, sniffer: ContentSniffer, max_bytes: int) -> int:
    size = 0
    with path.open("wb") as out:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                break
            sniffer.feed(chunk)
            # Disk writes off the loop: a slow disk must not stall every other request.
            await asyncio.to_thread(out.write, chunk)
    if size > max_bytes:
        await _drain(part, size)
        raise too_large(max_bytes)
    return size


async def _drain(part: BodyPartReader, seen: int) -> None:
    """Read (and drop) the rest of an oversized file, so the client sees the 413 instead of a reset."""
    while seen <= MAX_DRAIN and (chunk := await part.read_chunk(CHUNK)):
        seen += len(chunk)


async def _read_text(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        if len(data) + len(chunk) > MAX_TEXT_PART:
            raise bad_request(f"{(part.name or 'A field').capitalize()} is too long.", part.name or None)
        data.extend(chunk)
    return bytes(data).decode("utf-8", "replace")


def _title_from(original_name: str) -> str:
    stem, dot, _ext = original_name.rpartition(".")
    return (stem if dot and stem else original_name)[:MAX_TITLE]
