"""Reading a Create or Edit Session form (multipart/form-data or JSON) into checked column values.

Every problem is a 400 naming its field. Nothing is written here: the service decides what to
store once the whole form, thumbnail included, has been found good.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import BodyPartReader, web

from web.errors import ApiError, bad_request
from web.http import fields as v
from web.http.body import check_texts, json_object
from web.http.multipart import form_parts, part_text
from web.sessions.thumbnails import FIELD as THUMBNAIL_FIELD
from web.sessions.thumbnails import too_large_message

MAX_TEXT_PART = 20_000
# The Create/Edit form has about a dozen fields, plus one per domain tag (at most 10 are kept).
MAX_PARTS = 100
# A client that keeps sending past the limit is cut off here instead of being drained forever.
MAX_DRAIN = 64 * 1024 * 1024
MAX_PRICE_PAISE = 10_000_000
MIN_PAID_PAISE = 100
MAX_CAPACITY = 500
MAX_AHEAD = timedelta(days=366)
SCHEDULE_KEYS = ("start_at", "date", "time")
LIST_FIELDS = frozenset({"domain_tags", "domain_tags[]", "preferred_times", "preferred_times[]"})


@dataclass
class FormInput:
    fields: dict[str, Any]
    thumbnail: bytes | None = None


@dataclass
class SessionValues:
    """Checked values for MentorSession columns; only keys present in the form are set on edit."""

    columns: dict[str, Any] = field(default_factory=dict)
    live_request_id: int | None = None


async def read_form(request: web.Request, max_thumbnail_bytes: int) -> FormInput:
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request, max_thumbnail_bytes)
    return FormInput(await json_object(request))


async def _read_multipart(request: web.Request, max_thumbnail_bytes: int) -> FormInput:
    fields: dict[str, Any] = {}
    thumbnail: bytes | None = None
    async for part in form_parts(request, max_parts=MAX_PARTS):
        name = part.name or ""
        if name == THUMBNAIL_FIELD:
            data = await _read_limited(part, max_thumbnail_bytes)
            # Browsers send an empty file part when no file was chosen.
            thumbnail = data if data or part.filename else None
            if not data and part.filename:
                raise bad_request("The thumbnail file is empty.", THUMBNAIL_FIELD)
            continue
        raw = await _read_limited(part, MAX_TEXT_PART, field_name=name)
        value = part_text(raw, part, name or None)
        if name in LIST_FIELDS:
            fields.setdefault(name.removesuffix("[]"), []).append(value)
        else:
            fields[name] = value
    # The same text check as every JSON body: no NUL, control character or broken Unicode in any field.
    check_texts(fields)
    return FormInput(fields, thumbnail)


async def _read_limited(part: BodyPartReader, limit: int, field_name: str = THUMBNAIL_FIELD) -> bytes:
    buf = bytearray()
    seen = 0
    while chunk := await part.read_chunk(64 * 1024):
        seen += len(chunk)
        if seen <= limit:
            buf.extend(chunk)
        elif seen > MAX_DRAIN:
            break
    if seen > limit:
        if field_name == THUMBNAIL_FIELD:
            raise bad_request(too_large_message(limit), THUMBNAIL_FIELD)
        raise bad_request(f"{v.label(field_name)} is too long.", field_name or None)
    return bytes(buf)


def boolean(data: dict[str, Any], name: str, default: bool) -> bool:
    raw = data.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("1", "true", "on", "yes"):
        return True
    if isinstance(raw, str) and raw.lower() in ("0", "false", "off", "no"):
        return False
    raise bad_request(f"{v.label(name)} must be true or false.", name)


def price_paise(data: dict[str, Any]) -> int:
    """`price_paise` (integer paise) or `price_rupees` ("499", "499.50"); 0 means free."""
    if data.get("price_paise") not in (None, ""):
        paise = v.integer(data, "price_paise", low=0, high=MAX_PRICE_PAISE)
        name = "price_paise"
    else:
        raw = data.get("price_rupees")
        name = "price_rupees"
        if raw is None or raw == "":
            return 0
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise bad_request("Price must be an amount in rupees, like 499 or 499.50.", name)
        try:
            rupees = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise bad_request("Price must be an amount in rupees, like 499 or 499.50.", name) from None
        if rupees.is_finite() and rupees > MAX_PRICE_PAISE // 100:
            # Checked before quantize(), which raises on numbers wider than the decimal context.
            raise bad_request(f"Price must be at most ₹{MAX_PRICE_PAISE // 100}.", name)
        if not rupees.is_finite() or rupees < 0 or rupees != rupees.quantize(Decimal("0.01")):
            raise bad_request("Price must be a positive amount with at most two decimals.", name)
        paise = int(rupees * 100)
        if paise > MAX_PRICE_PAISE:
            raise bad_request(f"Price must be at most ₹{MAX_PRICE_PAISE // 100}.", name)
    if 0 < paise < MIN_PAID_PAISE:
        raise bad_request("A paid session costs at least ₹1 (Razorpay's minimum).", name)
    return paise


def start_at(data: dict[str, Any], now: datetime) -> tuple[datetime, str]:
    """The start in UTC and the timezone it was given in, from `date` + `time` + `timezone` or `start_at`."""
    zone_name = v.timezone(data)
    zone = ZoneInfo(zone_name)
    if data.get("start_at") not in (None, ""):
        raw = data["start_at"]
        if not isinstance(raw, str):
            raise bad_request("Start must be a date and time like 2030-01-01T09:00:00Z.", "start_at")
        parsed = v.iso_instant(raw, "start_at", "Start must be a date and time like 2030-01-01T09:00:00Z.")
        local = parsed if parsed.tzinfo else _in_zone(parsed, zone, zone_name, "start_at")
        start = local.astimezone(UTC)
    else:
        day = _date(data)
        clock_time = _time(data)
        start = _in_zone(datetime.combine(day, clock_time), zone, zone_name, "time").astimezone(UTC)
    start = start.replace(microsecond=0)
    field_name = "start_at" if data.get("start_at") not in (None, "") else "date"
    if start <= now:
        raise bad_request("The start must be in the future.", field_name)
    if start > now + MAX_AHEAD:
        raise bad_request("Sessions can be scheduled at most a year ahead.", field_name)
    return start, zone_name


def _in_zone(naive: datetime, zone: ZoneInfo, zone_name: str, field_name: str) -> datetime:
    # fold=0 takes the first of two repeated wall times when clocks go back; a wall time that
    # never happens (clocks go forward) does not survive the round trip and is refused.
    local = naive.replace(tzinfo=zone, fold=0)
    back = local.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        raise bad_request(
            f"{naive:%H:%M} does not exist on {naive:%d %b %Y} in {zone_name} (the clocks change). Pick another time.",
            field_name,
        )
    return local


def _date(data: dict[str, Any]) -> date:
    raw = data.get("date")
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("Choose a date.", "date")
    return v.iso_date(raw, "date", "Date must look like 2030-01-31.")


def _time(data: dict[str, Any]) -> time:
    raw = data.get("time")
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("Choose a start time.", "time")
    try:
        parsed = time.fromisoformat(raw.strip())
    except ValueError:
        raise bad_request("Time must look like 18:30.", "time") from None
    if parsed.tzinfo is not None:
        raise bad_request("Give the time without an offset; choose the timezone instead.", "time")
    return parsed


def optional_id(data: dict[str, Any], name: str) -> int | None:
    if data.get(name) in (None, ""):
        return None
    return v.integer(data, name, low=1, high=v.MAX_ID)


def session_values(
    data: dict[str, Any],
    now: datetime,
    *,
    creating: bool,
    default_duration: int = 60,
    default_record: bool = False,
) -> SessionValues:
    """Checked values; on create every field gets a value, on edit only the fields sent."""
    out = SessionValues()
    cols = out.columns
    # Every field is judged before answering, so the form shows all of its problems at once.
    problems: list[ApiError] = []

    def wanted(*names: str) -> bool:
        return creating or any(name in data for name in names)

    def take(read: Callable[[], dict[str, Any]]) -> None:
        try:
            cols.update(read())
        except ApiError as exc:
            if exc.status != 400:
                raise
            problems.append(exc)

    if wanted("title"):
        take(lambda: {"title": v.text(data, "title", min_len=3, max_len=140)})
    if wanted("domain_tags"):
        take(lambda: {"domain_tags": v.tags(data, "domain_tags", min_count=1, max_count=10)})
    if wanted("description"):
        take(lambda: {"description": v.text(data, "description", required=False, max_len=5000)})
    if wanted(*SCHEDULE_KEYS):
        take(lambda: dict(zip(("start_at", "timezone"), start_at(data, now), strict=True)))
    if wanted("duration_minutes"):
        take(lambda: {"duration_minutes": v.integer(data, "duration_minutes", low=15, high=480,
                                                    default=default_duration)})
    if wanted("price_paise", "price_rupees"):
        take(lambda: {"price_paise": price_paise(data)})
    if wanted("capacity"):
        take(lambda: {"capacity": v.integer(data, "capacity", low=1, high=MAX_CAPACITY, default=1)})
    if wanted("record"):
        take(lambda: {"record": boolean(data, "record", default_record)})
    if problems:
        first = problems[0]
        raise ApiError(400, first.message, field=first.field,
                       errors=[{"field": p.field, "message": p.message} for p in problems])
    if creating:
        out.live_request_id = optional_id(data, "live_request_id")
    return out
