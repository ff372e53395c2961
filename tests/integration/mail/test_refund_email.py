"""A paid booking through the sandbox: its confirmation email, then the mentor's cancellation and the
refund, each received by the SMTP server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import make_config
from tests.integration.mail.smtp_server import SmtpServer, calendar_fields, part, text_of
from tests.integration.payments.flow.support import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, Shop, paid_and_confirmed
from tests.support.api import ApiClient
from web.config import Config


@pytest.fixture
def config(tmp_path: Path, smtp: SmtpServer) -> Config:
    return make_config(tmp_path, payments={"key_id": KEY_ID, "key_secret": KEY_SECRET,
                                           "webhook_secret": WEBHOOK_SECRET, "request_timeout_seconds": 5},
                       email={"host": "127.0.0.1", "port": smtp.port, "tls": "none",
                              "from": "MentorLive <no-reply@mentorlive.test>"})


async def test_paid_booking_cancel_and_refund_each_send_an_email(app: web.Application, api: ApiClient,
                                                                  new_api: Callable[[], Any], smtp: SmtpServer) -> None:
    shop = await Shop.open(app, api)
    session_id = await shop.paid_session(title="Paid review")
    learner = await shop.learner(new_api)
    body = await paid_and_confirmed(shop, learner, session_id)
    await shop.run_jobs()
    [confirmation] = smtp.inbox.wait_for(1)
    assert confirmation["Subject"] == "Booking confirmed: Paid review" and confirmation["To"] == learner.email
    uid = calendar_fields(part(confirmation, "text/calendar").get_content())["UID"]
    assert uid == f"booking-{body['booking']['id']}@mentorlive"

    await shop.mentor.json("POST", f"/api/sessions/{session_id}/cancel", 200)
    await shop.run_jobs()
    by_subject = {m["Subject"]: m for m in smtp.inbox.wait_for(3)}
    cancelled = by_subject["Cancelled: Paid review"]
    assert calendar_fields(part(cancelled, "text/calendar").get_content())["UID"] == uid
    refund = by_subject["Refund started"]
    assert "₹499.00" in text_of(refund) and "Paid review" in text_of(refund)
