"""The states every table moves through. Stored as plain strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    LEARNER = "learner"
    MENTOR = "mentor"
    ADMIN = "admin"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    CREATED = "created"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"


class LiveRequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"


class RecordingStatus(StrEnum):
    RECORDING = "recording"
    PROCESSING = "processing"
    READY = "ready"
    # Composed from what exists: the media node went away before the end.
    PARTIAL = "partial"
    FAILED = "failed"
    EXPIRED = "expired"
    DELETED = "deleted"
