"""The one validation layer (web/http/body.py, fields.py, query.py): text with NUL, control characters or lone
surrogates, dates near year 1 or 9999, fields of the wrong JSON type, non-ASCII digits in addresses. Each is
a 400 naming the field (or a 404 for an address), the same on SQLite and PostgreSQL, and nothing is written."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.integration.sessions.helpers import session_fields
from tests.support.api import LEARNER_FIELDS, ApiClient, sign_up

BAD_TEXTS = {
    "nul": "Systems\x00design",
    "lone_surrogate": "Systems \ud800 design",
    "low_surrogate_first": "\udc00\ud800 pair reversed",
    "bell": "Ring \x07 ring",
    "escape": "\x1b[31m red",
    "delete": "Erase\x7f",
}


async def _mine(api: ApiClient) -> list[Any]:
    body = await api.json("GET", "/api/sessions/mine", 200)
    return list(body["sessions"]) if isinstance(body, dict) else list(body)


@pytest.mark.parametrize("kind", BAD_TEXTS)
@pytest.mark.parametrize("field", ["title", "description"])
async def test_bad_text_in_a_session_is_a_400_naming_the_field_and_saves_nothing(
    api: ApiClient, field: str, kind: str
) -> None:
    await sign_up(api, "mentor", "m@example.com")
    body = await api.json("POST", "/api/sessions", 400, json=session_fields(**{field: BAD_TEXTS[kind]}))
    assert body["field"] == field
    assert "not allowed" in body["error"]
    assert await _mine(api) == []


@pytest.mark.parametrize("kind", ["nul", "lone_surrogate"])
async def test_bad_text_inside_a_list_names_the_list(api: ApiClient, kind: str) -> None:
    await sign_up(api, "mentor", "m@example.com")
    body = await api.json("POST", "/api/sessions", 400, json=session_fields(domain_tags=["python", BAD_TEXTS[kind]]))
    assert body["field"] == "domain_tags"


@pytest.mark.parametrize("kind", ["nul", "lone_surrogate"])
@pytest.mark.parametrize("field", ["name", "goals", "headline"])
async def test_bad_text_at_signup_creates_no_account(api: ApiClient, field: str, kind: str) -> None:
    fields = dict(LEARNER_FIELDS, email="l@example.com", **{field: BAD_TEXTS[kind]})
    body = await api.json("POST", "/api/auth/signup", 400, json=fields)
    assert body["field"] == field
    # No account: the same email signs up cleanly afterwards.
    await sign_up(api, "learner", "l@example.com")


async def test_a_lone_surrogate_in_a_field_name_is_a_400(api: ApiClient) -> None:
    await api.ensure_csrf()
    raw = '{"email": "a@example.com", "password": "x", "\\ud800": 1}'
    response = await api.post("/api/auth/login", data=raw, headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()


@pytest.mark.parametrize("role", [["learner"], {"learner": True}, ["mentor", "learner"], 7, None])
@pytest.mark.parametrize("path", ["/api/auth/signup", "/api/auth/signup/step"])
async def test_role_of_the_wrong_type_is_a_400(api: ApiClient, path: str, role: Any) -> None:
    fields = dict(LEARNER_FIELDS, email="l@example.com", role=role, step=1)
    body = await api.json("POST", path, 400, json=fields)
    assert body["field"] == "role"


@pytest.mark.parametrize(
    "start_at",
    [
        "0001-01-01T00:00:00+14:00",  # astimezone(UTC) would fall before year 1
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59-14:00",  # would fall after year 9999
        "9999-12-31T23:59:59",
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
    ],
)
async def test_start_times_outside_the_sane_years_are_a_400(api: ApiClient, start_at: str) -> None:
    await sign_up(api, "mentor", "m@example.com")
    fields = session_fields(start_at=start_at, timezone="Pacific/Kiritimati")
    body = await api.json("POST", "/api/sessions", 400, json=fields)
    assert body["field"] == "start_at"
    assert await _mine(api) == []


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_dates_outside_the_sane_years_are_a_400(api: ApiClient, day: str) -> None:
    await sign_up(api, "mentor", "m@example.com")
    fields = session_fields(date=day, time="23:30", timezone="Etc/GMT-14")
    del fields["start_at"]
    body = await api.json("POST", "/api/sessions", 400, json=fields)
    assert body["field"] == "date"


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("to", "9999-12-31"),  # the end of that day is year 10000
        ("from", "0001-01-01T00:00:00+01:00"),
        ("to", "9999-12-31T23:00:00-05:00"),
    ],
)
async def test_search_dates_outside_the_sane_years_are_a_400(api: ApiClient, param: str, value: str) -> None:
    response = await api.get("/api/sessions", params={param: value})
    body = await response.json()
    assert response.status == 400, body
    assert body["field"] == param


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("q", "py\x00thon"),
        ("q", "\x1b"),
        ("price", "\x00"),
        ("page", "\u00b2"),
        ("page", "\u0665"),
        ("max_price_paise", "\u00b9"),
    ],
)
async def test_bad_query_parameters_are_a_400_naming_them(api: ApiClient, param: str, value: str) -> None:
    response = await api.get("/api/sessions", params={param: value})
    body = await response.json()
    assert response.status == 400, body
    assert body["field"] == param


async def test_a_nul_in_a_path_segment_is_a_400(api: ApiClient) -> None:
    response = await api.get("/session/ab%00cd/")
    assert response.status == 400, await response.text()


@pytest.mark.parametrize(
    "path",
    [
        "/api/sessions/\u0661",  # ARABIC-INDIC DIGIT ONE
        "/api/sessions/\u0661/bookings",
        "/api/mentors/\u0661",
        "/mentors/\u0661",
        "/api/sessions/\uff11",  # FULLWIDTH DIGIT ONE
        "/recordings/\u0661/download",
    ],
)
async def test_routes_take_ascii_digits_only(api: ApiClient, path: str) -> None:
    await sign_up(api, "mentor", "m@example.com")
    await api.json("POST", "/api/sessions", 201, json=session_fields())
    # The same session by its ASCII id is there, so a 404 is the digits' doing.
    assert (await api.get("/api/sessions/1")).status == 200
    response = await api.get(path)
    assert response.status == 404, await response.text()


async def test_cancelling_a_booking_by_a_non_ascii_id_is_a_404(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    response = await api.post("/api/bookings/\u0661/cancel")
    assert response.status == 404, await response.text()


def _session_form(**overrides: str) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    for key, value in session_fields(domain_tags="python", **overrides).items():
        form.add_field(key, str(value))
    return form


async def test_a_nul_in_a_multipart_form_field_is_a_400(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    response = await api.post("/api/sessions", data=_session_form(title="Bad\x00title"))
    body = await response.json()
    assert response.status == 400, body
    assert body["field"] == "title"
    assert await _mine(api) == []


async def test_an_unknown_charset_in_a_multipart_form_is_a_400(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    boundary = "fuzzboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in session_fields(domain_tags="python").items()
        if key != "title"
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n'
        f"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nTitle bytes\r\n"
    )
    body = "".join(parts) + f"--{boundary}--\r\n"
    response = await api.post(
        "/api/sessions", data=body.encode(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status == 400, await response.text()
    assert await _mine(api) == []


async def test_tabs_and_newlines_stay_allowed_in_text(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    description = "Line one\n\tindented\r\nLine two — ünïcödé 🎉"
    body = await api.json("POST", "/api/sessions", 201, json=session_fields(description=description))
    assert body["session"]["description"] == description if "session" in body else body["description"]


@pytest.mark.parametrize(("field", "value"), [("domain_tags", ["t" * 50_000]), ("timezone", "Z" * 50_000)])
async def test_errors_do_not_echo_a_huge_input_back(api: ApiClient, field: str, value: Any) -> None:
    await sign_up(api, "mentor", "m@example.com")
    response = await api.post("/api/sessions", json=session_fields(**{field: value}))
    assert response.status == 400
    assert len(await response.read()) < 1000
