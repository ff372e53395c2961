"""Errors the SFU raises; each maps to a signaling `error` code."""

from __future__ import annotations


class MediaServerError(Exception):
    code = "server_error"


class TokenError(MediaServerError):
    """A join token that is malformed, wrongly signed or expired."""

    code = "bad_token"


class TokenExpired(TokenError):
    code = "token_expired"


class ProtocolError(MediaServerError):
    """A signaling message that is malformed or not allowed now; the room carries on."""

    code = "bad_message"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class RoomClosed(MediaServerError):
    code = "room_closed"


class Replaced(MediaServerError):
    """This socket's participant continues on a newer socket (a resume elsewhere)."""

    code = "replaced"
