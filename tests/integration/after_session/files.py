"""Small files of every kind the resource upload judges, built in memory."""

from __future__ import annotations

import io
import zipfile

import aiohttp

from tests.integration.sessions.helpers import png_bytes

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 18
# The start of a Windows program: "MZ", the DOS stub, NULs.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100 + b"This program cannot be run"


def small_png() -> bytes:
    return png_bytes(8, 8)


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def ooxml(folder: str) -> bytes:
    return zip_of({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>",
                   f"{folder}/document.xml": b"<doc/>"})


def upload_form(data: bytes, filename: str = "notes.pdf", title: str | None = None,
                content_type: str = "application/octet-stream") -> aiohttp.FormData:
    # Like browsers: the file name travels as UTF-8, not percent-encoded (aiohttp's default).
    form = aiohttp.FormData(quote_fields=False)
    if title is not None:
        form.add_field("title", title)
    form.add_field("file", data, filename=filename, content_type=content_type)
    return form
