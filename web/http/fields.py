"""Field checks shared by every form: each raises a 400 ApiError naming the field."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from web.errors import bad_request

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9+#.\- ]{0,29}$")
HUMAN = {"email": "Email", "password": "Password", "name": "Name"}
# Row ids are 32-bit integers in PostgreSQL (and 64-bit in SQLite): a larger one can name no row.
MAX_ID = 2**31 - 1
# C0 controls other than tab, newline and carriage return, DEL, and UTF-16 surrogates. No form has a use for them;
# PostgreSQL refuses NUL in text (a 500 where SQLite stored it) and a lone surrogate cannot be encoded as UTF-8
# (a 500 on both), so they are refused at the door, the same way on every database.
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Every date a user can give: far around any session's, and far from year 1 and 9999, where a timezone shift or
# a day added overflows Python's datetime.
MIN_YEAR = 2000
MAX_YEAR = 2100


def label(field: str) -> str:
    return HUMAN.get(field, field.replace("_", " ").capitalize())


def safe_text(value: str, field: str | None) -> str:
    """`value` unchanged, or a 400 naming `field` when it holds a control character or broken Unicode."""
    if UNSAFE_CHARS.search(value):
        what = label(field) if field else "The request"
        raise bad_request(
            f"{what} contains characters that are not allowed (control characters or broken Unicode).", field
        )
    return value


def in_date_range(value: date, field: str) -> None:
    """A 400 naming `field` for a date outside MIN_YEAR..MAX_YEAR (`value` may be a datetime)."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise bad_request(f"{label(field)} must be a date between the years {MIN_YEAR} and {MAX_YEAR}.", field)


def iso_instant(raw: str, field: str, message: str) -> datetime:
    """An ISO 8601 date-time (aware or naive) within the sane years, or a 400 naming `field` with `message`."""
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_request(message, field) from None
    # Checked before any timezone arithmetic, which overflows near year 1 and 9999.
    in_date_range(value, field)
    return value


def iso_date(raw: str, field: str, message: str) -> date:
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise bad_request(message, field) from None
    in_date_range(value, field)
    return value


def text(data: dict[str, Any], field: str, *, required: bool = True, min_len: int = 1, max_len: int = 200) -> str:
    raw = data.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise bad_request(f"{label(field)} is required.", field)
        return ""
    if not isinstance(raw, str):
        raise bad_request(f"{label(field)} must be text.", field)
    value = safe_text(raw.strip(), field)
    if len(value) < min_len:
        raise bad_request(f"{label(field)} must be at least {min_len} characters.", field)
    if len(value) > max_len:
        raise bad_request(f"{label(field)} must be at most {max_len} characters.", field)
    return value


def email(data: dict[str, Any], field: str = "email") -> str:
    value = text(data, field, max_len=254).lower()
    if not EMAIL_RE.match(value):
        raise bad_request("Enter a valid email address, like name@example.com.", field)
    return value


def password(data: dict[str, Any], field: str = "password", *, email_value: str = "") -> str:
    raw = data.get(field)
    if not isinstance(raw, str) or not raw:
        raise bad_request("Password is required.", field)
    if len(raw) < 8:
        raise bad_request("Password must be at least 8 characters.", field)
    if len(raw) > 128:
        raise bad_request("Password must be at most 128 characters.", field)
    if not (re.search(r"[A-Za-z]", raw) and re.search(r"[0-9]", raw)):
        raise bad_request("Password must contain letters and numbers.", field)
    if email_value and raw.lower() == email_value.lower():
        raise bad_request("Password must not be your email address.", field)
    return raw


def integer(data: dict[str, Any], field: str, *, low: int, high: int, default: int | None = None) -> int:
    raw = data.get(field, default)
    if raw is None or raw == "":
        if default is not None:
            return default
        raise bad_request(f"{label(field)} is required.", field)
    if isinstance(raw, bool):
        raise bad_request(f"{label(field)} must be a whole number.", field)
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        # OverflowError: JSON's 1e400 reads as float('inf').
        raise bad_request(f"{label(field)} must be a whole number.", field) from None
    if isinstance(raw, float) and raw != value:
        raise bad_request(f"{label(field)} must be a whole number.", field)
    if not low <= value <= high:
        raise bad_request(f"{label(field)} must be between {low} and {high}.", field)
    return value


def choice(data: dict[str, Any], field: str, options: tuple[str, ...], *, default: str | None = None) -> str:
    raw = data.get(field, default)
    if raw not in options:
        raise bad_request(f"{label(field)} must be one of: {', '.join(options)}.", field)
    return str(raw)


def tags(data: dict[str, Any], field: str, *, min_count: int = 1, max_count: int = 10) -> list[str]:
    raw = data.get(field)
    if isinstance(raw, str):
        raw = [part for part in raw.split(",")]
    if not isinstance(raw, list):
        raise bad_request(f"Choose at least {min_count} {label(field).lower()}.", field)
    cleaned: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise bad_request(f"{label(field)} must be a list of words.", field)
        tag = " ".join(item.strip().lower().split())
        if not tag:
            continue
        if not TAG_RE.match(tag):
            # Echoed cut short: an error never carries more of the input back than a person needs to find it.
            raise bad_request(f"“{item[:40]}” is not a valid tag (letters, numbers, up to 30 characters).", field)
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) < min_count:
        raise bad_request(f"Choose at least {min_count} {label(field).lower()}.", field)
    if len(cleaned) > max_count:
        raise bad_request(f"Choose at most {max_count} {label(field).lower()}.", field)
    return cleaned


def timezone(data: dict[str, Any], field: str = "timezone") -> str:
    raw = data.get(field) or "UTC"
    if not isinstance(raw, str):
        raise bad_request("Choose a valid timezone.", field)
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"Unknown timezone “{raw[:64]}”.", field) from None
    return raw


def accepted(data: dict[str, Any], field: str) -> bool:
    if data.get(field) is not True:
        raise bad_request("Please accept the terms to continue.", field)
    return True


def row_id(raw: str | int) -> int | None:
    """A path or body id as an int, or None when no row can have it (too large for the column).

    A path id is ASCII digits only: int() also reads an Arabic-Indic five as 5,
    which would give one row many addresses."""
    if isinstance(raw, str) and not (raw.isascii() and raw.isdigit()):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None
