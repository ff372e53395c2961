"""iCalendar (RFC 5545) invites for a booking: one event whose UID never changes for that booking.

Times are written in UTC (`…Z`), which every calendar places correctly in its own zone on either side
of a daylight-saving change; no VTIMEZONE has to be right for that. SEQUENCE grows with every change
(seconds since 2024 of the change), so a CANCEL always supersedes the REQUEST it answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from models.clock import as_utc

PRODID = "-//MentorLive//Bookings//EN"
_SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
REQUEST = "REQUEST"
CANCEL = "CANCEL"


@dataclass(frozen=True)
class Invite:
    booking_id: int
    method: str  # REQUEST or CANCEL
    start: datetime
    end: datetime
    title: str
    description: str
    url: str
    organizer_name: str
    organizer_email: str
    attendee_name: str
    attendee_email: str
    changed_at: datetime  # the booking's or session's last change: orders REQUEST and CANCEL
    stamp: datetime  # when this copy was made (DTSTAMP)


def booking_uid(booking_id: int) -> str:
    """The same for every invite about this booking, so calendars update one event instead of adding one."""
    return f"booking-{booking_id}@mentorlive"


def sequence_of(changed_at: datetime) -> int:
    return max(0, int((as_utc(changed_at) - _SEQUENCE_EPOCH).total_seconds()))


def _utc(value: datetime) -> str:
    return as_utc(value).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _param(value: str) -> str:
    # A parameter value may not hold DQUOTE; quoted, it may hold ";", ":" and ",".
    return '"' + value.replace('"', "'") + '"'


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space (RFC 5545 §3.1)."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def render_invite(invite: Invite) -> str:
    cancelled = invite.method == CANCEL
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{invite.method}",
        "BEGIN:VEVENT",
        f"UID:{booking_uid(invite.booking_id)}",
        f"DTSTAMP:{_utc(invite.stamp)}",
        f"SEQUENCE:{sequence_of(invite.changed_at)}",
        f"DTSTART:{_utc(invite.start)}",
        f"DTEND:{_utc(invite.end)}",
        f"SUMMARY:{_text(invite.title)}",
        f"DESCRIPTION:{_text(invite.description)}",
        f"URL:{invite.url}",
        f"LOCATION:{_text(invite.url)}",
        f"ORGANIZER;CN={_param(invite.organizer_name)}:mailto:{invite.organizer_email}",
        f"ATTENDEE;CN={_param(invite.attendee_name)};ROLE=REQ-PARTICIPANT;"
        f"PARTSTAT={'DECLINED' if cancelled else 'ACCEPTED'};RSVP=FALSE:mailto:{invite.attendee_email}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
