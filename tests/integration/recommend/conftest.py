"""The Recommended tab through the real app: a mentor per topic, learners, and the tab's sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_config
from tests.integration.sessions.conftest import people  # noqa: F401  (the shared cast)
from web.config import Config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # A new model is looked for on every request here (the default is at most every few seconds), and
    # learners keep the hours of 07:00 to 23:00 in their own timezone.
    return make_config(tmp_path, recommend={"check_seconds": 0.0, "learner_hours": "07:00-23:00"})

