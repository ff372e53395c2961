"""Resource JSON: what the session's audience sees of a shared file."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from models.clock import iso_utc
from models.tables import Resource


def download_url(resource_id: int | None) -> str:
    return f"/resources/{resource_id}/download"


def resource_json(row: Resource) -> dict[str, Any]:
    return {
        "id": row.id,
        "session_id": row.session_id,
        "title": row.title,
        "filename": row.original_name,
        "content_type": row.content_type,
        "size_bytes": row.size_bytes,
        "created_at": iso_utc(row.created_at),
        "download_url": download_url(row.id),
    }


def download_headers(row: Resource) -> dict[str, str]:
    """Headers of a download: the type judged at upload, the name as an attachment, no way to run it here."""
    content_type = row.content_type + ("; charset=utf-8" if row.content_type.startswith("text/") else "")
    return {
        "Content-Type": content_type,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.original_name, safe='')}",
        # Shared files are the uploader's bytes: never let a browser treat one as a page of this site.
        "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
        "Cache-Control": "private, no-store",
    }
