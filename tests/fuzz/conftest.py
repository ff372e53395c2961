"""Hypothesis profiles for the fuzz tests: `ci` (the default, a short run inside the normal suite) and `deep`
(HYPOTHESIS_PROFILE=deep, thousands of inputs, for a run of its own). Neither keeps an example database:
nothing is written into the checkout, and every input that once failed lives in tests/fuzz/corpus/ instead."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.harness import FuzzServer
from tests.support.database import TestDatabases

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "deep",
    max_examples=400,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzz_server(
    request: pytest.FixtureRequest, databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzServer]:
    """One seeded app per database for a whole module of fuzz tests (seeding per example would dominate)."""
    server = FuzzServer(str(request.param), databases, Path(tmp_path_factory.mktemp(f"fuzz-{request.param}")))
    server.start()
    yield server
    server.stop()
