"""The `/api` of MentorLive described once, in Python, and written out as docs/openapi.json (OpenAPI 3.1).

The fuzzer (tests/fuzz/test_api_fuzz.py) reads docs/openapi.json, not this module, so the document in docs/
is the one that is exercised; tests/fuzz/test_api_description.py keeps the two equal and checks that every
`/api` route of the app is described. Regenerate after changing an endpoint:

    .venv/bin/python -m tests.fuzz.api_description --write

`x-roles` lists who calls an operation in real use (anonymous, learner, mentor, admin); the fuzzer sends
each operation as every one of them, since a caller of the wrong role must get a 4xx too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
ALL_ROLES = ["anonymous", "learner", "mentor", "admin"]

Schema = dict[str, Any]


def text(max_length: int = 200, **extra: Any) -> Schema:
    return {"type": "string", "maxLength": max_length, **extra}


def whole(minimum: int, maximum: int) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def words(max_items: int = 10) -> Schema:
    return {"type": "array", "items": text(30), "maxItems": max_items}


def obj(required: list[str] | None = None, /, **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


BOOL: Schema = {"type": "boolean"}
ROW_ID = whole(1, 2**31 - 1)
EMAIL = text(254, format="email")
PASSWORD = text(128, format="password")
TIMEZONE = text(64, description="An IANA timezone name, like Asia/Kolkata.")

SIGNUP_FIELDS: dict[str, Schema] = {
    "role": enum("learner", "mentor"),
    "name": text(120),
    "email": EMAIL,
    "password": PASSWORD,
    "headline": text(160),
    "experience_level": enum("beginner", "intermediate", "advanced"),
    "timezone": TIMEZONE,
    "interests": words(),
    "goals": text(2000),
    "accept_terms": BOOL,
    "bio": text(4000),
    "years_experience": whole(0, 60),
    "expertise": words(),
    "default_duration_minutes": whole(15, 240),
    "default_price_paise": whole(0, 10_000_000),
    "payout_method": enum("upi", "bank"),
    "payout_account": text(60),
    "next": text(500, description="Where to go after signing in (a path on this site)."),
}
SESSION_FIELDS: dict[str, Schema] = {
    "title": text(140),
    "domain_tags": words(),
    "description": text(5000),
    "start_at": text(40, format="date-time"),
    "date": text(10, format="date", description="With `time` and `timezone`, instead of `start_at`."),
    "time": text(8, format="time"),
    "timezone": TIMEZONE,
    "duration_minutes": whole(15, 480),
    "price_paise": whole(0, 10_000_000),
    "price_rupees": text(20, description="Rupees as text, like 499.50; used when price_paise is absent."),
    "capacity": whole(1, 500),
    "record": BOOL,
    "live_request_id": ROW_ID,
}
SESSION_QUERY: dict[str, Schema] = {
    "tab": enum("scheduled", "recommended"),
    "q": text(200),
    "price": enum("", "free", "paid"),
    "max_price_paise": whole(0, 10_000_000),
    "from": text(40, format="date-time"),
    "to": text(40, format="date-time"),
    "page": whole(1, 10_000),
    "domain": text(30),
    "has_seats": enum("1", "0", "true", "false"),
    "surface": text(40),
}


def op(
    method: str,
    path: str,
    summary: str,
    roles: list[str],
    *,
    body: Schema | None = None,
    query: dict[str, Schema] | None = None,
    multipart: Schema | None = None,
    raw_body: bool = False,
    ok: int = 200,
    example: Schema | None = None,
) -> tuple[str, str, Schema]:
    operation: Schema = {
        "summary": summary,
        "x-roles": roles,
        "responses": {
            str(ok): {"description": "Done."},
            "400": {
                "description": "A field is missing or wrong; `field` names it.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "401": {"description": "Not signed in."},
            "403": {"description": "Not allowed for this role."},
            "404": {"description": "No such row (or an id that is not ASCII digits)."},
        },
    }
    parameters: list[Schema] = []
    if "{id}" in path:
        parameters.append(
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
        )
    for name, schema in (query or {}).items():
        parameters.append({"name": name, "in": "query", "required": False, "schema": schema})
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        media: Schema = {"schema": body}
        if example is not None:
            media["example"] = example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    elif multipart is not None:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": multipart}}}
    elif raw_body:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "Razorpay's webhook, checked by its signature."}
                }
            },
        }
    return method.lower(), path, operation


LEARNER, MENTOR, ADMIN, ANON = ["learner"], ["mentor"], ["admin"], ["anonymous"]
# Bodies that succeed against the fuzzer's seeded data (tests/fuzz/harness.py): the fuzzer changes one field
# of them at a time, so a hostile value gets past every other check and reaches the code behind it.
LEARNER_SIGNUP: Schema = {
    "role": "learner",
    "name": "Lena Learner",
    "email": "new.learner@example.com",
    "password": "learn1234",
    "headline": "Student",
    "experience_level": "beginner",
    "timezone": "Asia/Kolkata",
    "interests": ["python", "system design"],
    "goals": "Get a backend job",
    "accept_terms": True,
    "step": 1,
}
MENTOR_SIGNUP: Schema = {
    "role": "mentor",
    "name": "Maya Mentor",
    "email": "new.mentor@example.com",
    "password": "mentor1234",
    "headline": "Principal engineer",
    "bio": "Twenty years of building distributed systems.",
    "years_experience": 20,
    "timezone": "Asia/Kolkata",
    "expertise": ["system design", "python"],
    "default_duration_minutes": 60,
    "default_price_paise": 0,
    "payout_method": "upi",
    "payout_account": "maya@okbank",
    "accept_terms": True,
    "step": 1,
}
NEW_SESSION: Schema = {
    "title": "Designing resilient APIs",
    "domain_tags": ["system design", "python"],
    "description": "Timeouts, retries and idempotency keys.",
    "start_at": "2030-01-01T10:00:00Z",
    "timezone": "Asia/Kolkata",
    "duration_minutes": 60,
    "price_paise": 0,
    "capacity": 5,
    "record": False,
}
SIGNED_IN = ["learner", "mentor", "admin"]

OPERATIONS = [
    op(
        "POST",
        "/api/auth/signup/step",
        "Check one step of the signup wizard.",
        ANON,
        body=obj(["role", "step"], step=whole(1, 6), **SIGNUP_FIELDS),
        example=LEARNER_SIGNUP,
    ),
    op(
        "POST",
        "/api/auth/signup",
        "Create an account and sign in.",
        ANON,
        body=obj(["role"], **SIGNUP_FIELDS),
        ok=201,
        example=MENTOR_SIGNUP,
    ),
    op(
        "POST",
        "/api/auth/login",
        "Sign in.",
        ANON,
        body=obj(["email", "password"], email=EMAIL, password=PASSWORD, next=SIGNUP_FIELDS["next"]),
        example={"email": "lena@example.com", "password": "wrong-password1", "next": "/dashboard/learner"},
    ),
    op("POST", "/api/auth/logout", "Sign out.", ANON),
    op("POST", "/api/auth/signout-everywhere", "Sign out every other browser of mine.", SIGNED_IN),
    op(
        "POST",
        "/api/me/password",
        "Change my password; every other session of mine ends.",
        SIGNED_IN,
        body=obj(["current_password", "new_password"], current_password=PASSWORD, new_password=PASSWORD),
        example={"current_password": "wrong-password1", "new_password": "fresh-password1"},
    ),
    op("POST", "/api/admin/users/{id}/signout", "Sign a user out everywhere.", ADMIN),
    op("GET", "/api/admin/media-nodes", "The media nodes as the registry knows them (state, rooms, load).", ADMIN),
    op("GET", "/api/me", "Who is signed in.", ALL_ROLES),
    op("GET", "/api/mentors/{id}", "A mentor's public profile.", ALL_ROLES),
    op(
        "PATCH",
        "/api/mentors/me",
        "Edit my mentor profile (JSON, or multipart with a `photo`).",
        MENTOR,
        body=obj(
            name=text(120),
            headline=text(160),
            bio=text(4000),
            years_experience=whole(0, 70),
            expertise=words(),
            remove_photo=BOOL,
        ),
        example={
            "name": "Maya Mentor",
            "headline": "Staff engineer",
            "bio": "Distributed systems, twenty years.",
            "years_experience": 21,
            "expertise": ["python"],
        },
    ),
    op(
        "POST",
        "/api/sessions",
        "Schedule a session (JSON, or multipart with a `thumbnail`).",
        MENTOR,
        body=obj(["title", "domain_tags"], **SESSION_FIELDS),
        ok=201,
        example=NEW_SESSION,
    ),
    op("GET", "/api/sessions", "Browse and search scheduled sessions.", ALL_ROLES, query=SESSION_QUERY),
    op("GET", "/api/sessions/mine", "My sessions.", ALL_ROLES, query={"tab": enum("upcoming", "past", "cancelled")}),
    op("GET", "/api/sessions/mine/past", "My past sessions.", ALL_ROLES),
    op("GET", "/api/sessions/{id}", "One session.", ALL_ROLES),
    op(
        "PATCH",
        "/api/sessions/{id}",
        "Edit my session; only the fields sent change.",
        MENTOR,
        body=obj(**SESSION_FIELDS),
        example={
            "title": "Resilient APIs, part two",
            "start_at": "2030-01-02T10:00:00Z",
            "capacity": 6,
            "price_paise": 0,
        },
    ),
    op("POST", "/api/sessions/{id}/cancel", "Cancel my session.", MENTOR),
    op(
        "POST",
        "/api/sessions/{id}/bookings",
        "Book a seat (paid sessions answer with a Razorpay order).",
        LEARNER,
        ok=201,
    ),
    op("GET", "/api/sessions/{id}/bookings", "The learners booked on my session.", MENTOR + ADMIN),
    op("POST", "/api/bookings/{id}/cancel", "Cancel my booking.", LEARNER),
    op(
        "POST",
        "/api/bookings/{id}/move",
        "Move my booking to another session of the same mentor.",
        LEARNER,
        body=obj(["session_id"], session_id=ROW_ID),
        example={"session_id": 2},
    ),
    op("GET", "/api/bookings/{id}/calendar.ics", "My booking as an iCalendar file.", LEARNER),
    op("POST", "/api/sessions/{id}/go-live", "Open the room.", MENTOR),
    op("POST", "/api/sessions/{id}/join", "A join token for the room.", SIGNED_IN),
    op("GET", "/api/sessions/{id}/join", "A join token for the room.", SIGNED_IN),
    op("POST", "/api/sessions/{id}/end", "End the live session.", MENTOR + ADMIN),
    op("GET", "/api/sessions/{id}/lobby", "Who is waiting in the room.", MENTOR + ADMIN),
    op("GET", "/api/sessions/{id}/chat", "The room's chat archive.", SIGNED_IN),
    op("GET", "/api/sessions/{id}/whiteboard", "The room's stored whiteboard.", SIGNED_IN),
    op(
        "POST",
        "/api/sessions/{id}/feedback",
        "Rate a session I attended.",
        LEARNER,
        body=obj(["rating"], rating=whole(1, 5), comment=text(2000)),
        example={"rating": 5, "comment": "Great."},
    ),
    op("GET", "/api/sessions/{id}/feedback", "The feedback on a session.", SIGNED_IN),
    op("GET", "/api/sessions/{id}/recording", "The session's recording.", SIGNED_IN),
    op(
        "PUT",
        "/api/sessions/{id}/recording/share",
        "Share the recording with attendees.",
        MENTOR,
        body=obj(["shared"], shared=BOOL),
        example={"shared": True},
    ),
    op("POST", "/api/recordings/{id}/retry", "Compose a failed recording again.", MENTOR + ADMIN),
    op("DELETE", "/api/recordings/{id}", "Delete a recording.", MENTOR + ADMIN),
    op("GET", "/api/admin/recordings/usage", "Recording storage per mentor.", ADMIN),
    op(
        "POST",
        "/api/sessions/{id}/resources",
        "Share a file with the session's learners.",
        MENTOR,
        multipart=obj(["file"], file={"type": "string", "format": "binary"}, title=text(140)),
        ok=201,
    ),
    op("GET", "/api/sessions/{id}/resources", "The session's shared files.", SIGNED_IN),
    op("DELETE", "/api/resources/{id}", "Remove a shared file.", MENTOR),
    op("GET", "/api/notifications", "My notifications.", ALL_ROLES),
    op(
        "POST",
        "/api/notifications/read",
        "Mark notifications read (`ids`, or all).",
        SIGNED_IN,
        body=obj(ids={"type": "array", "items": ROW_ID, "maxItems": 1000}, all=BOOL),
        example={"ids": [1, 2]},
    ),
    op(
        "POST",
        "/api/live-requests",
        "Ask a mentor for a live session.",
        LEARNER,
        body=obj(
            ["mentor_id", "topic"],
            mentor_id=ROW_ID,
            topic=text(140),
            message=text(2000),
            preferred_times={"type": "array", "items": text(80), "maxItems": 5},
        ),
        ok=201,
        example={
            "mentor_id": 1,
            "topic": "Mock interview",
            "message": "Thirty minutes?",
            "preferred_times": ["Saturday morning"],
        },
    ),
    op("GET", "/api/live-requests", "Live requests sent or received.", SIGNED_IN),
    op("POST", "/api/live-requests/{id}/accept", "Accept a live request.", MENTOR),
    op("POST", "/api/live-requests/{id}/decline", "Decline a live request.", MENTOR),
    op(
        "POST",
        "/api/recommend/events",
        "Record an impression or interaction.",
        ALL_ROLES,
        body=obj(
            ["kind"],
            kind=enum("open", "view", "book"),
            session_id=ROW_ID,
            mentor_id=ROW_ID,
            position=whole(0, 1000),
            surface=text(40),
            tab=text(20),
            model_version=text(40),
        ),
        example={
            "kind": "view",
            "session_id": 1,
            "mentor_id": 1,
            "position": 0,
            "surface": "learner_dashboard",
            "tab": "recommended",
            "model_version": "v1",
        },
    ),
    op(
        "POST",
        "/api/payments/checkout",
        "Resume checkout of my held seat.",
        LEARNER,
        body=obj(["session_id"], session_id=ROW_ID),
        example={"session_id": 2},
    ),
    op(
        "POST",
        "/api/payments/verify",
        "Confirm a payment from Razorpay Checkout.",
        LEARNER,
        body=obj(
            ["razorpay_order_id", "razorpay_payment_id", "razorpay_signature"],
            razorpay_order_id=text(),
            razorpay_payment_id=text(),
            razorpay_signature=text(),
        ),
        example={"razorpay_order_id": "order_1", "razorpay_payment_id": "pay_1", "razorpay_signature": "00"},
    ),
    op(
        "POST",
        "/api/payments/failed",
        "Report a failed or dismissed checkout.",
        LEARNER,
        body=obj(
            ["razorpay_order_id"],
            razorpay_order_id=text(),
            reason=enum("dismissed", "failed"),
            error=obj(description=text(500)),
        ),
        example={"razorpay_order_id": "order_1", "reason": "failed", "error": {"description": "Card declined"}},
    ),
    op("GET", "/api/payments/earnings", "My earnings.", MENTOR),
    op("POST", "/api/payments/webhook", "Razorpay's webhook (signed; no cookie).", ANON, raw_body=True),
]


def document() -> Schema:
    paths: dict[str, Schema] = {}
    for method, path, operation in OPERATIONS:
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MentorLive API",
            "version": "1",
            "description": (
                "The JSON API the pages call. Every unsafe call (POST, PUT, PATCH, DELETE) echoes the "
                '`csrf_token` cookie in the X-CSRF-Token header. Errors are `{"error": message, "field": name}`. '
                "Text anywhere in a body, query or path refuses NUL, other control characters (tab, newline and "
                "carriage return excepted) and lone surrogates with a 400 naming the field; dates must fall in "
                "the years 2000-2100; ids are ASCII digits. Generated by tests/fuzz/api_description.py."
            ),
        },
        "components": {"schemas": {"Error": obj(["error"], error=text(500), field=text(64))}},
        "paths": paths,
    }


def rendered() -> str:
    return json.dumps(document(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        DOCUMENT.write_text(rendered(), encoding="utf-8")
    else:
        sys.stdout.write(rendered())
