"""Search and filters over sessions: one query function for SQLite (FTS5) and PostgreSQL (full-text).

`find_sessions()` is the only caller of either index (models/search_index.py). Text matches every word
of the query, each as a prefix, in the title, description, tags or mentor's name; the filters (domain,
price, start range, free seats) are plain SQL, the same on both databases. Results are ordered by start
and paged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, func, or_, select, text
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import SessionStatus
from models.search_index import FTS_TABLE, PG_MENTOR_DOCUMENT
from models.tables import MentorSession
from web.errors import bad_request
from web.http import fields as v

PAGE_SIZE = 24
MAX_TERMS = 8
PRICE_CHOICES = ("", "free", "paid")
# Words as both indexes cut them: letters and digits; punctuation and "_" separate words.
_WORD = re.compile(r"[^\W_]+")
# The session's text as the PostgreSQL index expression has it (table-qualified, same meaning).
_PG_SESSION_DOCUMENT = (
    "to_tsvector('simple', mentor_sessions.title || ' ' || mentor_sessions.description || ' ' "
    "|| mentorlive_tags_text(mentor_sessions.domain_tags))"
)


@dataclass(frozen=True)
class SessionFilters:
    q: str = ""
    domain: str = ""
    price: str = ""  # "", "free" or "paid"
    max_price_paise: int | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    has_seats: bool = False
    page: int = 1

    @property
    def terms(self) -> list[str]:
        return _WORD.findall(self.q.lower())[:MAX_TERMS]


@dataclass(frozen=True)
class SessionPage:
    sessions: list[MentorSession]
    total: int
    page: int
    page_size: int = PAGE_SIZE

    @property
    def has_more(self) -> bool:
        return self.page * self.page_size < self.total


def _when(raw: str, field: str, *, end_of_day: bool) -> datetime:
    """An ISO instant, or a date meaning that UTC day (its start for `from`, the next day's start for `to`)."""
    message = f"“{raw[:40]}” is not a date (YYYY-MM-DD) or an ISO 8601 time."
    if len(raw) == 10:
        day = v.iso_date(raw, field, message)
        return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=UTC)
    value = v.iso_instant(raw, field, message)
    if value.tzinfo is None:
        raise bad_request("Give the time with its offset (for example 2030-01-01T10:00:00Z).", field)
    return value.astimezone(UTC)


def _whole(raw: str, field: str, low: int) -> int:
    # ASCII only: "²".isdigit() is true and int() refuses it; 18 digits is far above any price or page.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) < low:
        raise bad_request(f"{field} must be a whole number of at least {low}.", field)
    return int(raw)


def parse_filters(query: Mapping[str, str]) -> SessionFilters:
    """`GET /api/sessions` query → filters; a 400 naming the parameter when one is unreadable."""
    q = query.get("q", "").strip()[:200]
    price = query.get("price", "").strip().lower()
    if price not in PRICE_CHOICES:
        raise bad_request("price must be free or paid.", "price")
    raw_max = query.get("max_price_paise", "").strip()
    raw_from, raw_to = query.get("from", "").strip(), query.get("to", "").strip()
    start_from = _when(raw_from, "from", end_of_day=False) if raw_from else None
    start_to = _when(raw_to, "to", end_of_day=True) if raw_to else None
    if start_from and start_to and start_to <= start_from:
        raise bad_request("The end of the date range must come after its start.", "to")
    raw_page = query.get("page", "").strip()
    return SessionFilters(
        q=q,
        domain=" ".join(query.get("domain", "").strip().lower().split())[:30],
        price=price,
        max_price_paise=_whole(raw_max, "max_price_paise", 0) if raw_max else None,
        start_from=start_from,
        start_to=start_to,
        has_seats=query.get("has_seats", "").strip().lower() in ("1", "true", "yes", "on"),
        page=min(_whole(raw_page, "page", 1), 10_000) if raw_page else 1,
    )


def _text_condition(dialect: str, terms: list[str]) -> ColumnElement[bool] | None:
    if not terms:
        return None
    if dialect == "sqlite":
        # Every word (AND), each a prefix; words are letters and digits only, so quoting is safe.
        match = " ".join(f'"{term}"*' for term in terms)
        ids = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_match").bindparams(
            fts_match=match).columns(rowid=Integer)
        return col(MentorSession.id).in_(ids)
    parts: list[ColumnElement[bool]] = []
    for i, term in enumerate(terms):
        prefix = f"{term}:*"
        in_session = text(f"{_PG_SESSION_DOCUMENT} @@ to_tsquery('simple', :fts_session_{i})").bindparams(
            **{f"fts_session_{i}": prefix})
        mentors = text(
            f"SELECT users.id FROM users WHERE {PG_MENTOR_DOCUMENT} @@ to_tsquery('simple', :fts_mentor_{i})"
        ).bindparams(**{f"fts_mentor_{i}": prefix}).columns(id=Integer)
        parts.append(or_(in_session, col(MentorSession.mentor_id).in_(mentors)))
    return and_(*parts)


def _domain_condition(dialect: str, domain: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        clause = "EXISTS (SELECT 1 FROM json_each(mentor_sessions.domain_tags) WHERE lower(value) = :domain)"
    else:
        clause = ("EXISTS (SELECT 1 FROM json_array_elements_text(mentor_sessions.domain_tags) AS tag(value) "
                  "WHERE lower(tag.value) = :domain)")
    return text(clause).bindparams(domain=domain)  # type: ignore[return-value]


def filter_conditions(dialect: str, filters: SessionFilters) -> list[Any]:
    conditions: list[Any] = []
    matched = _text_condition(dialect, filters.terms)
    if matched is not None:
        conditions.append(matched)
    if filters.domain:
        conditions.append(_domain_condition(dialect, filters.domain))
    if filters.price == "free":
        conditions.append(col(MentorSession.price_paise) == 0)
    elif filters.price == "paid":
        conditions.append(col(MentorSession.price_paise) > 0)
    if filters.max_price_paise is not None:
        conditions.append(col(MentorSession.price_paise) <= filters.max_price_paise)
    if filters.start_from is not None:
        conditions.append(col(MentorSession.start_at) >= filters.start_from)
    if filters.start_to is not None:
        conditions.append(col(MentorSession.start_at) < filters.start_to)
    if filters.has_seats:
        conditions.append(col(MentorSession.seats_taken) < col(MentorSession.capacity))
    return conditions


def tab_conditions(tab: str, now: datetime) -> list[Any]:
    if tab == "live":
        return [col(MentorSession.status) == SessionStatus.LIVE]
    return [col(MentorSession.status) == SessionStatus.SCHEDULED, col(MentorSession.start_at) > now]


async def find_sessions(s: AsyncSession, tab: str, now: datetime, filters: SessionFilters) -> SessionPage:
    """One page of the Scheduled or Live Now tab under `filters`, by start, with how many match in all."""
    dialect = s.get_bind().dialect.name
    where = [*tab_conditions(tab, now), *filter_conditions(dialect, filters)]
    total = int((await s.execute(select(func.count()).select_from(MentorSession).where(*where))).scalar_one())
    rows = (await s.execute(
        select(MentorSession).where(*where)
        .order_by(col(MentorSession.start_at), col(MentorSession.id))
        .offset((filters.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    )).scalars().all()
    return SessionPage(sessions=list(rows), total=total, page=filters.page)
