"""The media node's settings from the app config: one place for `serve`'s embedded node and `mentorlive media-node`
(kept apart from web.room.sfu, which defines routes, so the media-node command can read it)."""

from __future__ import annotations

from media_server import MediaSettings
from web.config import Config


def settings_from_config(config: Config) -> MediaSettings:
    return MediaSettings(
        node_id=config.str("media", "node_id"),
        ice_hosts=tuple(str(h) for h in config.list("media", "ice_hosts")),
        recordings_dir=config.data_path("recordings", "dir"),
        recording_segment_seconds=config.float("recordings", "segment_seconds"),
        recording_segment_grace=config.float("recordings", "segment_grace_seconds"),
        max_message_bytes=config.int("media", "max_message_bytes"),
        quality_interval=config.float("media", "quality_interval_seconds"),
        quality_window=config.float("media", "quality_window_seconds"),
        resume_grace=config.float("media", "resume_grace_seconds"),
        resume_settle=config.float("media", "resume_settle_seconds"),
        speaker_interval=config.float("media", "speaker_interval_seconds"),
        speaker_threshold=config.int("media", "speaker_threshold_dbov"),
        speaker_hold=config.float("media", "speaker_hold_seconds"),
        # The board a late joiner is sent is the board stored when the room ends (web.room.archive).
        whiteboard_history_bytes=config.int("sessions", "whiteboard_max_bytes"),
    )
