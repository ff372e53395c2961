"""What an email says: plain text and HTML, times in the recipient's own zone, a link to act on.

Built from the notification the platform already stores for the same event, plus the rows it names,
read in the caller's transaction.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.clock import as_utc
from models.tables import MentorSession


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    text: str
    html: str
    calendar: str | None = None  # an iCalendar document (web.mail.calendar)
    calendar_method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def local_time(instant: datetime, timezone: str) -> str:
    """"Sunday 31 March 2030, 12:00 CEST (Europe/Berlin)": the recipient's wall clock on that very day."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    local = as_utc(instant).astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()} ({timezone})"


def session_end(session: MentorSession) -> datetime:
    return as_utc(session.start_at) + timedelta(minutes=session.duration_minutes)


def render(to: str, subject: str, greeting: str, paragraphs: list[str], link: tuple[str, str] | None, *,
           calendar: str | None = None, calendar_method: str | None = None) -> Letter:
    """The same words as plain text and as simple HTML (escaped), with one call to action."""
    text_lines = [greeting, "", *[p for para in paragraphs for p in (para, "")]]
    if link:
        text_lines += [f"{link[0]}: {link[1]}", ""]
    text_lines += ["— MentorLive"]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    button = (f'<p><a href="{html.escape(link[1], quote=True)}" style="background:#3b5bdb;color:#fff;'
              f'padding:10px 16px;border-radius:8px;text-decoration:none;display:inline-block">'
              f"{html.escape(link[0])}</a></p>") if link else ""
    page = (f'<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#17202c">'
            f"<p>{html.escape(greeting)}</p>{body}{button}"
            f'<p style="color:#5b6677">— MentorLive</p></body></html>')
    return Letter(to=to, subject=subject, text="\n".join(text_lines), html=page, calendar=calendar,
                  calendar_method=calendar_method)
