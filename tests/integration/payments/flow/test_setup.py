"""setup_payments: what each `[payments] mode` builds, and refusing to start without real keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from web.app import create_app
from web.config import ConfigError
from web.payments.runtime import PAYMENTS, RAZORPAY_CHECKOUT_JS, PaymentsNotStarted

REAL_KEYS = {"key_id": "rzp_live_Example00001", "key_secret": "live-secret", "webhook_secret": "live-webhook"}


def app_with(tmp_path: Path, **payments: Any) -> Any:
    config = make_config(tmp_path, payments=payments, database={"url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"})
    return create_app(config)


@pytest.mark.parametrize("missing", ["key_id", "key_secret", "webhook_secret"])
def test_razorpay_mode_refuses_to_start_without_real_keys(tmp_path: Path, missing: str) -> None:
    with pytest.raises(ConfigError, match=f"MENTORLIVE_PAYMENTS_{missing.upper()}"):
        app_with(tmp_path, mode="razorpay", **dict(REAL_KEYS, **{missing: ""}))


def test_razorpay_mode_uses_razorpay_and_its_checkout(tmp_path: Path) -> None:
    runtime = app_with(tmp_path, mode="razorpay", **REAL_KEYS)[PAYMENTS]
    assert runtime.script_url == RAZORPAY_CHECKOUT_JS
    assert runtime.gateway.key_id == "rzp_live_Example00001"
    assert runtime.sandbox_server is None


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mode"):
        app_with(tmp_path, mode="stripe")


def test_sandbox_mode_starts_with_the_app_and_aims_webhooks_at_public_url(tmp_path: Path) -> None:
    config = make_config(tmp_path, web={"public_url": "https://mentor.example/"},
                         payments={"key_secret": "s", "webhook_secret": "w"},
                         database={"url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"})
    runtime = create_app(config)[PAYMENTS]
    assert runtime.webhook_url == "https://mentor.example/api/payments/webhook"
    # The in-process sandbox's port exists only once the app runs.
    with pytest.raises(PaymentsNotStarted):
        runtime.gateway  # noqa: B018
