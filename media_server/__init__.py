"""MentorLive's SFU: rooms whose participants' encoded media is forwarded, never transcoded.

Read top to bottom: node -> room -> participant -> publication/subscription ->
forwarder -> keyframes -> quality/ -> recording/; aiortc_hooks/ holds every private
aiortc name used, testing/ the test and benchmark aids (never imported here).
Parents import children; a child reaches its parent through a protocol it declares.
Nothing here imports `web`, `models` or `workers`. Map: docs/architecture.md, "media_server/".
"""

from media_server.errors import MediaServerError, ProtocolError, TokenError, TokenExpired
from media_server.events import (
    ActiveSpeakerChanged,
    ChatPosted,
    Listener,
    NodeEvent,
    ParticipantJoined,
    ParticipantLeft,
    PresenceSpan,
    QualityChanged,
    RecordedFile,
    RecordingSegment,
    RoomEnded,
    RoomStarted,
)
from media_server.node import MediaNode
from media_server.settings import MediaSettings
from media_server.tokens import JoinClaims, sign_join_token, verify_join_token

__all__ = [
    "ActiveSpeakerChanged",
    "ChatPosted",
    "JoinClaims",
    "Listener",
    "MediaNode",
    "MediaServerError",
    "MediaSettings",
    "NodeEvent",
    "ParticipantJoined",
    "ParticipantLeft",
    "PresenceSpan",
    "ProtocolError",
    "QualityChanged",
    "RecordedFile",
    "RecordingSegment",
    "RoomEnded",
    "RoomStarted",
    "TokenError",
    "TokenExpired",
    "sign_join_token",
    "verify_join_token",
]
