"""Resource JSON: what the session's audience sees of a shared file."""

from __future__ import annotations

from typing import Any

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
