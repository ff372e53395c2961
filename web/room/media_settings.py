"""The media node's settings from the app config: one place for `serve`'s embedded node and `mentorlive media-node`
(kept apart from web.room.sfu, which defines routes, so the media-node command can read it)."""

from __future__ import annotations

from typing import Any

from media_server import MediaSettings
from media_server.ice_servers import parse_ice_servers
from media_server.rates import Rate
from web.config import Config


def settings_from_config(config: Config) -> MediaSettings:
    return MediaSettings(
        node_id=config.str("media", "node_id"),
        ice_hosts=tuple(str(h) for h in config.list("media", "ice_hosts")),
        ice_servers=parse_ice_servers(config.list("media", "ice_servers")),
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
        forwarding=config.str("media", "forwarding"),
        raw_history_packets=config.int("media", "raw_history_packets"),
        congestion_pause_loss=config.float("media", "congestion_pause_loss"),
        congestion_resume_loss=config.float("media", "congestion_resume_loss"),
        congestion_pause_rtt=config.float("media", "congestion_pause_rtt_seconds"),
        congestion_pause_after=config.float("media", "congestion_pause_after_seconds"),
        congestion_resume_after=config.float("media", "congestion_resume_after_seconds"),
        # The board a late joiner is sent is the board stored when the room ends (web.room.archive).
        whiteboard_history_bytes=config.int("sessions", "whiteboard_max_bytes"),
        **_signaling_limits(config),
    )


def _signaling_limits(config: Config) -> dict[str, Any]:
    """[media]'s /rtc limits (queues, tokens, answer timeout, publications, message rates)."""
    rates = MediaSettings().rates
    for kind in ("chat", "whiteboard", "ping", "publish"):
        rates[kind] = Rate(config.float("media", f"{kind}_rate"), config.int("media", f"{kind}_burst"))
    return {
        "send_queue_messages": config.int("media", "send_queue_messages"),
        "send_queue_bytes": config.int("media", "send_queue_bytes"),
        "whiteboard_page_bytes": config.int("media", "whiteboard_page_bytes"),
        "join_timeout": config.float("media", "join_timeout_seconds"),
        "used_tokens_kept": config.int("media", "used_tokens_kept"),
        "answer_timeout": config.float("media", "answer_timeout_seconds"),
        "max_publications": config.int("media", "max_publications"),
        "max_mlines": config.int("media", "max_mlines"),
        "rates": rates,
    }
