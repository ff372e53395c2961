"""Hypothesis over every operation of docs/openapi.json, as every role, on SQLite and PostgreSQL: no input
gives a 5xx or a traceback, and a refused request (4xx) writes nothing.

Each test records how many inputs it tried and how each was answered; the summary at the end of the run
prints them per endpoint (tests/conftest.py). HYPOTHESIS_PROFILE=deep tries many more.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.api_description import DOCUMENT
from tests.fuzz.harness import ROLES, FuzzServer

pytestmark = pytest.mark.fuzz


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    spec = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def _json_body(operation: dict[str, Any]) -> dict[str, Any] | None:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json")


@pytest.mark.parametrize(("method", "path", "operation"), operations(), ids=[f"{m} {p}" for m, p, _ in operations()])
def test_no_input_gives_a_5xx_or_a_partial_write(
    fuzz_server: FuzzServer, method: str, path: str, operation: dict[str, Any], record_property: Any
) -> None:
    media = _json_body(operation)
    roles = list(operation.get("x-roles", ROLES))
    # Mostly the roles that call it, sometimes any other (which must be refused, and write nothing).
    role_strategy = st.one_of(st.sampled_from(roles), st.sampled_from(roles), st.sampled_from(ROLES))
    body_strategy = fz.whole_body(media["schema"], media.get("example")) if media is not None else st.none()
    id_strategy = fz.PATH_IDS if "{id}" in path else st.just("")
    query_strategy = fz.query(operation.get("parameters", []))
    statuses: Counter[str] = Counter()

    @given(role=role_strategy, body=body_strategy, path_id=id_strategy, query=query_strategy)
    def one_request(role: str, body: Any, path_id: str, query: dict[str, str]) -> None:
        if role != "anonymous" and path in ("/api/auth/logout",):
            role = "anonymous"  # signing a seeded client out would change every later example
        concrete = path.replace("{id}", path_id)
        before = fuzz_server.snapshot()
        answer = fuzz_server.send(role, method, concrete, query, body)
        statuses[str(answer.status)] += 1
        shown = f"{method} {concrete} as {role}, query={query!r}, body={body!r:.2000}"
        assert answer.status < 500, f"{answer.status} for {shown}: {answer.body[:500]}"
        assert "Traceback" not in answer.body, shown
        if 400 <= answer.status < 500:
            after = fuzz_server.snapshot()
            changed = [name for name in before if before[name] != after[name]]
            assert not changed, f"{answer.status} for {shown} still wrote to {changed}"

    try:
        one_request()
    finally:
        tried = sum(statuses.values())
        five = sum(n for status, n in statuses.items() if status.startswith("5"))
        record_property(
            "fuzz",
            {
                "db": fuzz_server.kind,
                "endpoint": f"{method} {path}",
                "tried": tried,
                "5xx": five,
                "statuses": dict(sorted(statuses.items())),
            },
        )
