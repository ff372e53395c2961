"""Signed webhook deliveries from the sandbox, sent in the background like Razorpay's.

Every event is kept in `outbox` whether or not it was sent, so tests can read
exactly what went out. With `hold` set, events wait until a test releases them
in the order it chooses, or replays one to imitate at-least-once delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from web.payments.sandbox.ids import new_id
from web.payments.signatures import webhook_signature

log = logging.getLogger(__name__)

# Razorpay retries for a day; the sandbox keeps the same shape but bounded and quick.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
DEFAULT_TIMEOUT_SECONDS = 5.0
ACCOUNT_ID = "acc_MentorLiveSbox"

UrlGetter = Callable[[], str | None]


@dataclass
class DeliveryAttempt:
    status: int | None  # HTTP status, None when the request itself failed
    error: str | None = None


@dataclass
class WebhookDelivery:
    event_id: str
    event: str
    body: bytes
    signature: str
    state: str  # held | sending | delivered | failed | no_url
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": "Razorpay-Webhook/v1",
            "X-Razorpay-Signature": self.signature,
            "X-Razorpay-Event-Id": self.event_id,
        }


class WebhookDispatcher:
    def __init__(self, *, secret: str, url_getter: UrlGetter, hold: bool = False,
                 retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._secret = secret
        self._url_getter = url_getter
        self.hold = hold
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.outbox: list[WebhookDelivery] = []
        self._event_ids: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def emit(self, event: str, entities: Mapping[str, Mapping[str, Any]], created_at: int) -> WebhookDelivery:
        """Record the event and, unless held, start sending it without waiting for the receiver."""
        body = json.dumps({
            "entity": "event",
            "account_id": ACCOUNT_ID,
            "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": dict(entity)} for name, entity in entities.items()},
            "created_at": created_at,
        }, separators=(",", ":")).encode()
        event_id = new_id("evt", self._event_ids)
        self._event_ids.add(event_id)
        delivery = WebhookDelivery(event_id=event_id, event=event, body=body,
                                   signature=webhook_signature(body, self._secret),
                                   state="held" if self.hold else "sending")
        self.outbox.append(delivery)
        if not self.hold:
            self._spawn(delivery)
        return delivery

    def events(self, name: str | None = None) -> list[WebhookDelivery]:
        return [d for d in self.outbox if name is None or d.event == name]

    def get(self, event_id: str) -> WebhookDelivery:
        for delivery in self.outbox:
            if delivery.event_id == event_id:
                return delivery
        raise KeyError(event_id)

    async def release(self, *event_ids: str) -> list[WebhookDelivery]:
        """Send held events one after another, in the given order (all held ones if none given).

        Each is awaited to its end, retries included, so the receiver sees exactly this order.
        """
        chosen = [self.get(i) for i in event_ids] if event_ids else [d for d in self.outbox
                                                                      if d.state == "held"]
        for delivery in chosen:
            if delivery.state != "held":
                raise ValueError(f"{delivery.event_id} is not held (it is {delivery.state})")
        for delivery in chosen:
            delivery.state = "sending"
            await self._deliver(delivery)
        return chosen

    async def replay(self, event_id: str) -> WebhookDelivery:
        """Send an already-sent event again, same id, body and signature, as Razorpay may."""
        delivery = self.get(event_id)
        delivery.state = "sending"
        await self._deliver(delivery)
        return delivery

    async def drain(self) -> None:
        """Wait until every background delivery, retries included, has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _spawn(self, delivery: WebhookDelivery) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _deliver(self, delivery: WebhookDelivery) -> None:
        delays: Iterable[float | None] = (*self.retry_delays, None)
        for delay in delays:
            url = self._url_getter()
            if not url:
                delivery.state = "no_url"
                return
            attempt = await self._attempt(url, delivery)
            delivery.attempts.append(attempt)
            if attempt.status is not None and 200 <= attempt.status < 300:
                delivery.state = "delivered"
                return
            if delay is None:
                break
            await asyncio.sleep(delay)
        delivery.state = "failed"
        log.warning("webhook %s %s not delivered after %d attempts",
                    delivery.event, delivery.event_id, len(delivery.attempts))

    async def _attempt(self, url: str, delivery: WebhookDelivery) -> DeliveryAttempt:
        try:
            async with self._client().post(url, data=delivery.body, headers=delivery.headers()) as reply:
                await reply.read()
                return DeliveryAttempt(status=reply.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return DeliveryAttempt(status=None, error=f"{type(exc).__name__}: {exc}")
