"""Every table of the platform (ARCHITECTURE §3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Dialect, String, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out on every database.

    SQLite keeps no offset, so values are stored there as naive UTC and given their zone back when read;
    code never meets a naive datetime, and ORM comparisons in Python never mix the two kinds.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, index=index)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=String(254), unique=True, index=True)
    password_hash: str = Field(sa_type=String(200))
    name: str = Field(sa_type=String(120))
    role: str = Field(sa_type=String(16), index=True)
    timezone: str = Field(default="UTC", sa_type=String(64))
    created_at: datetime = _when()


class LearnerProfile(SQLModel, table=True):
    __tablename__ = "learner_profiles"
    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    headline: str = Field(default="", sa_type=String(160))
    experience_level: str = Field(default="beginner", sa_type=String(20))
    interests: list[str] = _json_list()
    goals: str = Field(default="", sa_type=String(2000))


class MentorProfile(SQLModel, table=True):
    __tablename__ = "mentor_profiles"
    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    headline: str = Field(default="", sa_type=String(160))
    bio: str = Field(default="", sa_type=String(4000))
    years_experience: int = Field(default=0)
    expertise: list[str] = _json_list()
    default_duration_minutes: int = Field(default=60)
    default_price_paise: int = Field(default=0)
    payout_method: str = Field(default="upi", sa_type=String(20))
    # Only a masked form is stored: the platform never needs the full account number.
    payout_account_masked: str = Field(default="", sa_type=String(40))
    rating_sum: int = Field(default=0)
    rating_count: int = Field(default=0)
    # A random name under var/photos/, judged and resized like session thumbnails.
    photo_path: str | None = Field(default=None, sa_type=String(255))

    __table_args__ = (CheckConstraint("default_price_paise >= 0", name="ck_mentor_default_price"),)


class MentorSession(SQLModel, table=True):
    """The seed's "Session": named so it never clashes with database or cookie sessions."""

    __tablename__ = "mentor_sessions"
    id: int | None = Field(default=None, primary_key=True)
    mentor_id: int = Field(foreign_key="users.id", index=True)
    title: str = Field(sa_type=String(140))
    domain_tags: list[str] = _json_list()
    description: str = Field(default="", sa_type=String(5000))
    thumbnail_path: str | None = Field(default=None, sa_type=String(255))
    start_at: datetime = _when(index=True)
    duration_minutes: int = Field(default=60)
    timezone: str = Field(default="UTC", sa_type=String(64))
    price_paise: int = Field(default=0)
    currency: str = Field(default="INR", sa_type=String(3))
    capacity: int = Field(default=1)
    # Seats held by confirmed and pending bookings; changed only by conditional UPDATEs so
    # concurrent bookings can never exceed capacity on SQLite or PostgreSQL.
    seats_taken: int = Field(default=0)
    status: str = Field(default="scheduled", sa_type=String(16), index=True)
    room_code: str = Field(sa_type=String(32), unique=True, index=True)
    record: bool = Field(default=False)
    # The mentor's "Share the recording with attendees": booked learners may then download it.
    share_recording: bool = Field(default=False)
    live_request_id: int | None = Field(default=None, foreign_key="live_requests.id")
    went_live_at: datetime | None = _when(nullable=True)
    ended_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()

    __table_args__ = (
        CheckConstraint("price_paise >= 0", name="ck_session_price"),
        CheckConstraint("capacity >= 1", name="ck_session_capacity"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="ck_session_seats"),
        CheckConstraint("duration_minutes > 0", name="ck_session_duration"),
    )


class Booking(SQLModel, table=True):
    __tablename__ = "bookings"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mentor_sessions.id", index=True)
    learner_id: int = Field(foreign_key="users.id", index=True)
    status: str = Field(sa_type=String(20), index=True)
    hold_expires_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    confirmed_at: datetime | None = _when(nullable=True)
    cancelled_at: datetime | None = _when(nullable=True)
    # First time the learner's media connection joined the room (the SFU's participant-joined event).
    attended_at: datetime | None = _when(nullable=True)

    __table_args__ = (UniqueConstraint("session_id", "learner_id", name="uq_booking_session_learner"),)


class Payment(SQLModel, table=True):
    __tablename__ = "payments"
    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="bookings.id", index=True)
    razorpay_order_id: str = Field(sa_type=String(64), unique=True)
    razorpay_payment_id: str | None = Field(default=None, sa_type=String(64), unique=True)
    amount_paise: int
    currency: str = Field(default="INR", sa_type=String(3))
    status: str = Field(sa_type=String(16), index=True)
    verified_at: datetime | None = _when(nullable=True)
    refund_id: str | None = Field(default=None, sa_type=String(64))
    refund_status: str | None = Field(default=None, sa_type=String(16))
    # What is being (or was) given back: the whole amount, or a learner's late cancellation's share.
    refund_amount_paise: int | None = None
    refunded_at: datetime | None = _when(nullable=True)
    failure_reason: str | None = Field(default=None, sa_type=String(500))
    created_at: datetime = _when()

    __table_args__ = (CheckConstraint("amount_paise > 0", name="ck_payment_amount"),)


class LiveRequest(SQLModel, table=True):
    __tablename__ = "live_requests"
    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = Field(foreign_key="users.id", index=True)
    mentor_id: int = Field(foreign_key="users.id", index=True)
    topic: str = Field(sa_type=String(140))
    message: str = Field(default="", sa_type=String(2000))
    preferred_times: list[str] = _json_list()
    status: str = Field(default="pending", sa_type=String(16), index=True)
    created_at: datetime = _when()
    expires_at: datetime = _when()
    responded_at: datetime | None = _when(nullable=True)


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mentor_sessions.id", index=True)
    learner_id: int = Field(foreign_key="users.id", index=True)
    rating: int
    comment: str = Field(default="", sa_type=String(2000))
    # The 7-day edit window runs from created_at; updated_at moves with every edit.
    created_at: datetime = _when()
    updated_at: datetime = _when()

    __table_args__ = (
        UniqueConstraint("session_id", "learner_id", name="uq_feedback_session_learner"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="ck_feedback_rating"),
    )


class Resource(SQLModel, table=True):
    __tablename__ = "resources"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mentor_sessions.id", index=True)
    title: str = Field(sa_type=String(200))
    # A random name under the data folder's resources/; never derived from the upload's name.
    path: str = Field(sa_type=String(255))
    # The name the file had on the uploader's disk, offered again on download.
    original_name: str = Field(default="", sa_type=String(255))
    content_type: str = Field(sa_type=String(100))
    size_bytes: int
    uploaded_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _when()


class Recording(SQLModel, table=True):
    """A session's recording (one per session): composed window by window while the session runs.

    Paths are relative to `[recordings] dir`. `parts_done` counts the composed windows; `partial`
    says some media is missing (the media node went away before the end).
    """

    __tablename__ = "recordings"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mentor_sessions.id", index=True)
    room_code: str = Field(sa_type=String(32), index=True)
    status: str = Field(sa_type=String(16), index=True)
    progress: float = Field(default=0.0)
    path: str | None = Field(default=None, sa_type=String(255))
    size_bytes: int | None = None
    duration_seconds: float | None = None
    error: str | None = Field(default=None, sa_type=String(500))
    parts_done: int = Field(default=0)
    partial: bool = Field(default=False)
    raw_path: str | None = Field(default=None, sa_type=String(255))
    raw_size_bytes: int | None = None
    transcript_path: str | None = Field(default=None, sa_type=String(255))
    whiteboard_path: str | None = Field(default=None, sa_type=String(255))
    # Bytes on disk for this recording: track files, parts, the MP4, the zip (for admins' usage view).
    disk_bytes: int = Field(default=0)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    ready_at: datetime | None = _when(nullable=True)
    deleted_at: datetime | None = _when(nullable=True)

    __table_args__ = (UniqueConstraint("session_id", name="uq_recording_session"),)


class RecordingSegment(SQLModel, table=True):
    """One finished window of a recording as the media node reported it, and its composed part."""

    __tablename__ = "recording_segments"
    id: int | None = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id", index=True)
    # The recorder run (a room reopened after it emptied records a new run) and the window within it.
    run: str = Field(sa_type=String(40))
    index: int
    start_seconds: float
    end_seconds: float
    final: bool = Field(default=False)
    # The window's track files (relative paths, timing, gaps) and who was present, as reported.
    files: list[dict[str, Any]] = _json_list()
    presence: list[dict[str, Any]] = _json_list()
    part_path: str | None = Field(default=None, sa_type=String(255))
    composed_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()

    __table_args__ = (UniqueConstraint("recording_id", "run", "index", name="uq_recording_segment"),)


class ChatMessage(SQLModel, table=True):
    """A line said in a session's room, kept for late readers and the recording's transcript."""

    __tablename__ = "chat_messages"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mentor_sessions.id", index=True)
    user_id: int = Field(foreign_key="users.id")
    name: str = Field(sa_type=String(120))
    text: str = Field(sa_type=String(2000))
    created_at: datetime = _when()


class WhiteboardSnapshot(SQLModel, table=True):
    """A session's whiteboard as it stood when its room last closed (one row per session)."""

    __tablename__ = "whiteboard_snapshots"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="mentor_sessions.id", unique=True)
    strokes: list[dict[str, Any]] = _json_list()
    size_bytes: int = Field(default=0)
    updated_at: datetime = _when()


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(sa_type=String(40))
    title: str = Field(sa_type=String(200))
    body: str = Field(default="", sa_type=String(1000))
    data: dict[str, Any] = _json_dict()
    read_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when(index=True)


class ScheduledJob(SQLModel, table=True):
    """A durable timer, written in the same transaction as what causes it."""

    __tablename__ = "scheduled_jobs"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(40), index=True)
    args: dict[str, Any] = _json_dict()
    due_at: datetime = _when(index=True)
    claimed_at: datetime | None = _when(nullable=True)
    done_at: datetime | None = _when(nullable=True, index=True)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=String(1000))
    created_at: datetime = _when()


class WebhookEvent(SQLModel, table=True):
    """Razorpay event ids already handled: delivery is at least once."""

    __tablename__ = "webhook_events"
    event_id: str = Field(sa_type=String(80), primary_key=True)
    event: str = Field(sa_type=String(60))
    received_at: datetime = _when()


class LoginFailure(SQLModel, table=True):
    """Failed logins by account or address, kept in the database so every web node sees them."""

    __tablename__ = "login_failures"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=String(300), index=True)
    at: datetime = _when(index=True)


class RecEvent(SQLModel, table=True):
    """What the Recommended tab showed (impressions) and what learners did (interactions), for training.

    Written in batches off the request path (web/recommend/signals.py); pruned after `[recommend] keep_days`.
    """

    __tablename__ = "rec_events"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(16), index=True)  # impression, open, view, book, attend, rate, cancel
    learner_id: int = Field(foreign_key="users.id", index=True)
    mentor_id: int | None = Field(default=None, foreign_key="users.id")
    session_id: int | None = Field(default=None, foreign_key="mentor_sessions.id")
    # Where it was shown: the page or component, the tab, and the 0-based position in the list.
    surface: str = Field(default="", sa_type=String(40))
    tab: str = Field(default="", sa_type=String(20))
    position: int | None = None
    model_version: str = Field(default="", sa_type=String(40))
    rating: int | None = None
    at: datetime = _when(index=True)


class AuthSession(SQLModel, table=True):
    """A signed-in browser: the session cookie carries a random id whose SHA-256 is the key here.

    Kept server-side so signing out, a password change or an admin's "sign out everywhere" ends it at
    once on every process: each request that needs the user reads its row by primary key.
    """

    __tablename__ = "auth_sessions"
    id: str = Field(sa_type=String(64), primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = _when()
    expires_at: datetime = _when()
    revoked_at: datetime | None = _when(nullable=True)
