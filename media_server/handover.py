"""What one media node hands another when a live room moves (drain), and how the handover is signed.

The snapshot is plain data (JSON on the wire): chat history, whiteboard, when the session
started, the recording run to continue, and for each participant (by user id) the identity it
keeps on the target: its participant id and, per source, its publication id and mute state.
Keeping ids lets every client keep its tiles: the same publication arrives on a new m-line.

The request is authenticated with an HMAC-SHA256 keyed from the shared app secret with its own
purpose label (a join token or cookie key can never sign a handover), over the timestamp, the
room code and the body; a signature older than `MAX_AGE` seconds is refused (no replay later).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

_PURPOSE = b"mentorlive/room-handover/v1"
MAX_AGE = 60.0
MAX_BODY = 8 * 1024 * 1024
SIGNATURE_HEADER = "X-Mentorlive-Signature"
TIMESTAMP_HEADER = "X-Mentorlive-Timestamp"
_ID = re.compile(r"^[A-Za-z0-9_.:'-]{1,64}$")


class HandoverError(ValueError):
    """A handover that is unsigned, stale or malformed."""


@dataclass(frozen=True)
class Arrival:
    """Who comes back on the target: the ids it keeps and its sources' mute states."""

    participant_id: str
    # source -> (publication id, muted)
    publications: dict[str, tuple[str, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class RoomSnapshot:
    code: str
    chat: list[dict[str, Any]]
    chat_ids: int
    whiteboard: list[dict[str, Any]]
    started_at: str | None
    # The source's recording run (None: not recording); the target records run `next_run(run)`.
    recording_run: str | None
    arrivals: dict[str, Arrival]
    # Seconds the participants have to arrive; an unclaimed room on the target closes after it.
    expires_in: float

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "code": self.code,
                "chat": self.chat,
                "chat_ids": self.chat_ids,
                "whiteboard": self.whiteboard,
                "started_at": self.started_at,
                "recording_run": self.recording_run,
                "expires_in": self.expires_in,
                "arrivals": {
                    user: {
                        "participant_id": a.participant_id,
                        "publications": {s: [pid, muted] for s, (pid, muted) in a.publications.items()},
                    }
                    for user, a in self.arrivals.items()
                },
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, code: str, body: bytes) -> RoomSnapshot:
        try:
            raw = json.loads(body)
            if not isinstance(raw, dict) or raw.get("code") != code:
                raise HandoverError("the snapshot names another room")
            chat, board = raw["chat"], raw["whiteboard"]
            if not isinstance(chat, list) or not all(isinstance(c, dict) for c in chat):
                raise HandoverError("'chat' must be a list of objects")
            if not isinstance(board, list) or not all(isinstance(b, dict) for b in board):
                raise HandoverError("'whiteboard' must be a list of objects")
            arrivals: dict[str, Arrival] = {}
            for user, entry in dict(raw["arrivals"]).items():
                pubs: dict[str, tuple[str, bool]] = {}
                for source, (pid, muted) in dict(entry["publications"]).items():
                    pubs[str(source)] = (_ident(pid), bool(muted))
                arrivals[str(user)] = Arrival(_ident(entry["participant_id"]), pubs)
            started, run = raw.get("started_at"), raw.get("recording_run")
            return cls(
                code=code,
                chat=chat,
                chat_ids=int(raw["chat_ids"]),
                whiteboard=board,
                started_at=str(started) if started is not None else None,
                recording_run=_ident(run) if run is not None else None,
                arrivals=arrivals,
                expires_in=max(1.0, min(float(raw["expires_in"]), 3600.0)),
            )
        except HandoverError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise HandoverError(f"malformed snapshot: {exc}") from exc


def _ident(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise HandoverError(f"not an id: {value!r}")
    return value


def next_run(run: str) -> str:
    """The run a moved recording continues as: sorts after `run` (the composer joins runs in name order)."""
    base, sep, count = run.rpartition("-m")
    if sep and count.isdigit() and len(count) == 3:
        return f"{base}-m{int(count) + 1:03d}"
    return f"{run}-m001"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def sign(secret: str, code: str, body: bytes, now: float) -> dict[str, str]:
    """Headers that authenticate `body` for room `code` at unix time `now`."""
    stamp = f"{now:.3f}"
    mac = hmac.new(_key(secret), f"{stamp}.{code}.".encode() + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: mac}


def verify(secret: str, code: str, body: bytes, headers: Any, now: float) -> None:
    stamp, mac = headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    try:
        age = abs(now - float(stamp))
    except ValueError:
        raise HandoverError("handover timestamp missing") from None
    expected = hmac.new(_key(secret), f"{stamp}.{code}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(mac)):
        raise HandoverError("handover signature does not match")
    if age > MAX_AGE:
        raise HandoverError("handover signature is too old")
