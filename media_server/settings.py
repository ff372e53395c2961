"""The node's knobs, read once from the app config (or set directly in tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from media_server.ice_servers import IceServer
from media_server.rates import Rate


def _default_rates() -> dict[str, Rate]:
    # publish and unpublish share one bucket (each costs a renegotiation); see config.toml [media].
    return {
        "chat": Rate(5.0, 20),
        "whiteboard": Rate(90.0, 240),
        "ping": Rate(2.0, 10),
        "publish": Rate(2.0, 8),
        "mute": Rate(10.0, 40),
        "participants": Rate(2.0, 10),
        # A new peer connection on request (`resume` with `restart_media` on a live socket).
        "restart": Rate(0.5, 3),
    }


@dataclass(frozen=True)
class MediaSettings:
    node_id: str = "local"
    # Host addresses offered as ICE candidates; empty means aioice's own choice.
    ice_hosts: tuple[str, ...] = ()
    # STUN/TURN servers given to every peer connection; empty: none is ever contacted.
    ice_servers: tuple[IceServer, ...] = ()
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
    # How long a participant still shows as reconnecting after its socket came back: others
    # see the drop even when the server learns of it only from the resume (a dropped
    # network leaves the old socket open on our side), and a fresh connection may drop again.
    resume_settle: float = 2.0
    # Minimum spacing of keyframe requests sent to one publisher.
    keyframe_interval: float = 0.3
    # "raw": RTP packets rewritten per subscriber as bytes (media_server.raw_egress); "frames":
    # depacketized frames repacketized by each subscriber's aiortc sender. Raw falls back to
    # frames for a subscriber that negotiated another codec.
    forwarding: str = "raw"
    # Packets each raw subscription keeps to answer NACKs with (rounded up to a power of two).
    raw_history_packets: int = 256
    # Congestion response (media_server.congestion): pause a subscriber's video above this loss
    # fraction or round trip for `congestion_pause_after` seconds, resume it after
    # `congestion_resume_after` seconds below `congestion_resume_loss`.
    congestion_pause_loss: float = 0.1
    congestion_resume_loss: float = 0.03
    congestion_pause_rtt: float = 1.0
    congestion_pause_after: float = 2.0
    congestion_resume_after: float = 4.0
    # Frames a subscription may hold before it skips to the next keyframe.
    video_queue_frames: int = 30
    audio_queue_frames: int = 50
    answer_timeout: float = 15.0
    chat_history: int = 200
    # What a late joiner is sent of the whiteboard (strokes since the last clear, newest kept), in
    # JSON bytes: a count would cut a long drawing (the page sends a stroke per animation frame)
    # while letting large strokes pile up. The web app sets it to what it stores with the session.
    whiteboard_history_bytes: int = 1_048_576
    # A signaling socket's outgoing queue, in messages and in bytes of JSON: a reader that falls
    # further behind is disconnected (it resumes and gets the current state).
    send_queue_messages: int = 512
    send_queue_bytes: int = 4_194_304
    # The whiteboard history a joiner gets comes in `whiteboard.page` messages of about this size.
    whiteboard_page_bytes: int = 65_536
    # How long a new socket may wait before its first message (`join`/`resume` with the token).
    join_timeout: float = 10.0
    # Join tokens already used for a `join`, remembered until they expire (at most this many).
    used_tokens_kept: int = 65_536
    # Live publications per participant, and the per-participant message rates.
    max_publications: int = 3
    # m-lines one participant's media connection may carry: sources published and unpublished by the
    # others leave inactive ones behind (aiortc cannot reuse a stopped sender), so past this the
    # connection is replaced by a fresh one carrying only what is live.
    max_mlines: int = 64
    rates: dict[str, Rate] = field(default_factory=_default_rates)
    # Active speaker: how often the room reads its microphones' levels, the level (RFC 6464,
    # -dBov) a voice must beat to count, and how long the floor is held through pauses.
    speaker_interval: float = 0.25
    speaker_threshold: int = 50
    speaker_hold: float = 1.0
    # Rooms whose session ended, remembered so a stale join token gets the ended screen.
    ended_rooms_kept: int = 4096

    def __post_init__(self) -> None:
        if self.forwarding not in ("raw", "frames"):
            raise ValueError(f'[media] forwarding must be "raw" or "frames", not {self.forwarding!r}')
