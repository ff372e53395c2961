"""The node's knobs, read once from the app config (or set directly in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MediaSettings:
    node_id: str = "local"
    # Host addresses offered as ICE candidates; empty means aioice's own choice.
    ice_hosts: tuple[str, ...] = ()
    recordings_dir: Path = Path("recordings")
    # Recorded tracks are cut into files of this many seconds of the room's timeline, so the
    # web app composes the recording while the session runs; a window is reported this long
    # after its end (a video file waits for a keyframe to start the next one).
    recording_segment_seconds: float = 30.0
    recording_segment_grace: float = 2.0
    max_message_bytes: int = 262144
    quality_interval: float = 2.0
    quality_window: float = 5.0
    # How long a participant whose signaling socket dropped keeps its place.
    resume_grace: float = 20.0
    # Minimum spacing of keyframe requests sent to one publisher.
    keyframe_interval: float = 0.3
    # Frames a subscription may hold before it skips to the next keyframe.
    video_queue_frames: int = 30
    audio_queue_frames: int = 50
    answer_timeout: float = 15.0
    chat_history: int = 200
    whiteboard_history: int = 2000
    send_queue_messages: int = 512
