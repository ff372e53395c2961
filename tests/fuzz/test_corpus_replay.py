"""Every input that once failed (tests/fuzz/corpus/http/*.json), replayed on SQLite and PostgreSQL: each gets
the answer its file names (a 400 naming the field, or a 404) and writes nothing.

A file is one request: `role` (anonymous, learner, mentor, admin: the fuzz harness's seeded clients),
`method`, `path`, `query`, `body` (any JSON; lone surrogates as \\ud800 escapes), `expect` (the status),
`field` (the field the 400 names, or null), `why` (what it used to do) and `before` (the status
the code before this fix answered, per database, where it differed). Add a file for every new finding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.harness import FuzzServer

pytestmark = pytest.mark.fuzz
CORPUS = Path(__file__).parent / "corpus" / "http"
CASES = sorted(CORPUS.glob("*.json"))


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 27


@pytest.mark.parametrize("case_file", CASES, ids=[case.stem for case in CASES])
def test_a_past_failure_is_answered_as_recorded(fuzz_server: FuzzServer, case_file: Path) -> None:
    case: dict[str, Any] = json.loads(case_file.read_text(encoding="utf-8"))
    before = fuzz_server.snapshot()
    answer = fuzz_server.send(case["role"], case["method"], case["path"], case["query"], case["body"])
    assert answer.status == case["expect"], f"{case_file.name} ({case['why']}): {answer.status} {answer.body[:300]}"
    if case.get("field"):
        assert json.loads(answer.body).get("field") == case["field"], answer.body
    after = fuzz_server.snapshot()
    assert [name for name in before if before[name] != after[name]] == [], f"{case_file.name} wrote something"
