"""The real Razorpay SDK against the real sandbox on a loopback port, and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from models.clock import ManualClock
from tests.integration.payments.sandbox.support import KEY_ID, KEY_SECRET, RETRY_DELAYS, WEBHOOK_SECRET, WebhookReceiver
from web.payments.gateway import PaymentGateway
from web.payments.sandbox.server import SandboxServer, start_sandbox
from web.payments.sandbox.service import RazorpaySandbox


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/api/payments/webhook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/api/payments/webhook"
    yield receiver
    await runner.cleanup()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sandbox_server(webhook_receiver: WebhookReceiver, clock: ManualClock) -> AsyncIterator[SandboxServer]:
    server = await start_sandbox(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                 webhook_url=webhook_receiver.url, clock=clock,
                                 webhook_retry_delays=RETRY_DELAYS, refund_delay=None)
    yield server
    await server.close()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> RazorpaySandbox:
    return sandbox_server.sandbox


@pytest.fixture
def gateway(sandbox_server: SandboxServer) -> PaymentGateway:
    return PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                          base_url=sandbox_server.url, timeout=5.0)
