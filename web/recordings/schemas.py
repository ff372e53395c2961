"""The Recording object of docs/api.md and the download file names."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from models.enums import RecordingStatus
from models.tables import MentorSession, Recording
from web.recordings.queries import Access

PLAYABLE = frozenset({RecordingStatus.READY, RecordingStatus.PARTIAL})


def progress_of(recording: Recording) -> float:
    if recording.status in PLAYABLE:
        return 1.0
    return round(min(1.0, max(0.0, recording.progress)), 3)


def recording_json(recording: Recording, session: MentorSession, access: Access) -> dict[str, Any]:
    playable = recording.status in PLAYABLE
    rid = recording.id
    manages = access in (Access.OWNER, Access.ADMIN)
    return {
        "id": rid,
        "session_id": recording.session_id,
        "status": recording.status,
        "progress": progress_of(recording),
        "duration_seconds": recording.duration_seconds if playable else None,
        "size_bytes": recording.size_bytes if playable else None,
        "download_url": f"/recordings/{rid}/download" if playable else None,
        "raw_url": f"/recordings/{rid}/raw" if playable and manages and recording.raw_path else None,
        "transcript_url": f"/recordings/{rid}/transcript" if playable and recording.transcript_path else None,
        "whiteboard_url": f"/recordings/{rid}/whiteboard" if playable and recording.whiteboard_path else None,
        "shared_with_attendees": session.share_recording,
        "error": recording.error if recording.status == RecordingStatus.FAILED and manages else None,
        "can_manage": access == Access.OWNER,
    }


def file_stem(session: MentorSession) -> str:
    """`Session title 2030-01-01`: the session's title and date, safe in any file system."""
    title = unicodedata.normalize("NFKC", session.title)
    title = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", " ", title)
    title = re.sub(r"\s+", " ", title).strip(" .") or "Recording"
    return f"{title[:100]} {session.start_at.date().isoformat()}"


def attachment(filename: str) -> dict[str, str]:
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    ascii_name = filename.encode("ascii", "ignore").decode() or "recording"
    ascii_name = ascii_name.replace('"', "")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"}
