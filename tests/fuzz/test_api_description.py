"""docs/openapi.json is the description the fuzzer runs from: generated from tests/fuzz/api_description.py,
and naming every `/api` route the app has, so a new endpoint cannot escape the fuzzer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import make_config
from tests.fuzz.api_description import DOCUMENT, rendered
from web.app import create_app


def test_the_committed_document_is_the_generated_one() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == rendered(), (
        "docs/openapi.json is stale: run .venv/bin/python -m tests.fuzz.api_description --write"
    )


def test_every_api_route_is_described(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path))
    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method not in ("HEAD", "OPTIONS")
    }
    spec = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    described = {(method, path) for path, methods in spec["paths"].items() for method in methods}
    assert routes - described == set(), "undescribed /api routes"
    assert described - routes == set(), "described routes the app does not have"
