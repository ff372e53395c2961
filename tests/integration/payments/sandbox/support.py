"""Shared pieces of the payments tests: credentials and a recording webhook receiver."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict

KEY_ID = "rzp_test_MentorLiveTst1"
KEY_SECRET = "sandbox-key-secret-for-tests"
WEBHOOK_SECRET = "sandbox-webhook-secret-for-tests"
# Short, so retry tests take milliseconds; the count (4 attempts) is what they check.
RETRY_DELAYS = (0.01, 0.02, 0.04)


def basic_auth_header(key_id: str = KEY_ID, key_secret: str = KEY_SECRET) -> dict[str, str]:
    """HTTP Basic credentials as Razorpay's SDK sends them (aiohttp deprecates `ClientSession(auth=...)`)."""
    token = base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class ReceivedWebhook:
    body: bytes
    headers: CIMultiDict[str]
    status: int


class WebhookReceiver:
    """A tiny stand-in for the platform's webhook endpoint that records every request."""

    def __init__(self) -> None:
        self.url = ""
        self.received: list[ReceivedWebhook] = []
        self.failures_left = 0
        self.delay = 0.0
        self._arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = 200
        if self.failures_left > 0:
            self.failures_left -= 1
            status = 500
        async with self._arrived:
            self.received.append(ReceivedWebhook(body, CIMultiDict(request.headers), status))
            self._arrived.notify_all()
        return web.Response(status=status, text="ok" if status == 200 else "boom")

    async def wait_for(self, count: int) -> list[ReceivedWebhook]:
        async with asyncio.timeout(5), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return list(self.received)
