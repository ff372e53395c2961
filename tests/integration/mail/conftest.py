"""The app configured to send email through a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_config
from tests.integration.mail.smtp_server import SmtpServer
from web.config import Config


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path: Path, smtp: SmtpServer) -> Config:
    return make_config(tmp_path, email={"host": "127.0.0.1", "port": smtp.port, "tls": "none",
                                        "from": "MentorLive <no-reply@mentorlive.test>"})
