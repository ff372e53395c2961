"""What an uploaded file is, judged by its bytes: never by its name or the type the browser claims.

Accepted: PDF, PNG, JPEG, GIF, WebP, the Office Open XML documents (PPTX, DOCX, XLSX: a ZIP holding
`[Content_Types].xml` and its part folder), any other ZIP, and plain UTF-8 text. Everything else is refused.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str
    # The first is used when the upload's name carries none of them.
    extensions: tuple[str, ...]


PDF = FileType("application/pdf", "PDF", (".pdf",))
PNG = FileType("image/png", "PNG image", (".png",))
JPEG = FileType("image/jpeg", "JPEG image", (".jpg", ".jpeg", ".jpe"))
GIF = FileType("image/gif", "GIF image", (".gif",))
WEBP = FileType("image/webp", "WebP image", (".webp",))
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "slide deck (PPTX)",
                (".pptx",))
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document (DOCX)",
                (".docx",))
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "spreadsheet (XLSX)",
                (".xlsx",))
ZIP = FileType("application/zip", "ZIP archive", (".zip",))
TEXT = FileType("text/plain", "text", (".txt",))
ALL = (PDF, PNG, JPEG, GIF, WEBP, PPTX, DOCX, XLSX, ZIP, TEXT)
ACCEPTED_DESCRIPTION = "PDF, PNG, JPEG, GIF, WebP, PPTX, DOCX, XLSX, ZIP or plain UTF-8 text"

# Office Open XML: the package's content types file plus the folder of its main part.
_OOXML_FOLDERS = (("ppt/", PPTX), ("word/", DOCX), ("xl/", XLSX))
_HEAD_BYTES = 16
# Text may hold tabs, newlines and form feeds, but no other control character (NUL marks binary data).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _by_magic(head: bytes) -> FileType | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    return None


class ContentSniffer:
    """Fed an upload chunk by chunk while it streams to disk; remembers what judging it needs.

    Lifecycle: created per upload, fed every chunk in order, asked `file_type(path)` once the file
    is complete on disk (ZIPs are opened there to look for the Office parts).
    """

    def __init__(self) -> None:
        self._head = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = True

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < _HEAD_BYTES:
            self._head.extend(chunk[: _HEAD_BYTES - len(self._head)])
        if self._text:
            try:
                if _CONTROL.search(self._decoder.decode(chunk)):
                    self._text = False
            except UnicodeDecodeError:
                self._text = False

    def file_type(self, path: Path) -> FileType | None:
        """The file's type, or None when it is none of the accepted ones. Blocking: ZIPs are read."""
        kind = _by_magic(bytes(self._head))
        if kind is ZIP:
            return _zip_type(path)
        if kind is not None:
            return kind
        if self._text:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return None
            return TEXT
        return None


def _zip_type(path: Path) -> FileType | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, RuntimeError):
        return None
    if "[Content_Types].xml" in names:
        for folder, kind in _OOXML_FOLDERS:
            if any(name.startswith(folder) for name in names):
                return kind
    return ZIP


def download_name(original: str, kind: FileType) -> str:
    """The upload's own name, with an extension that tells the truth about the content.

    A PNG uploaded as "notes.pdf" downloads as "notes.png": opened by its name it must open as what it is.
    Text keeps any extension no other accepted type claims (".md", ".py", ".csv" are text too).
    """
    stem, dot, ext = original.rpartition(".")
    ext = f".{ext.lower()}" if dot and stem else ""
    if ext in kind.extensions:
        return original
    if kind is TEXT and ext and all(ext not in other.extensions for other in ALL):
        return original
    base = stem if ext else original
    return f"{base or 'resource'}{kind.extensions[0]}"
