"""The sandbox's operations with their side effects: the ledger's transitions plus webhooks.

HTTP handlers and tests go through the same methods, so paying an order from a
test (`pay_order`) produces the same payment, signature and events as the
checkout page's Pay button.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from models.clock import Clock
from web.payments.sandbox.entities import Payment, PaymentError, Refund
from web.payments.sandbox.ledger import Ledger, SandboxError
from web.payments.sandbox.webhook_sender import DEFAULT_RETRY_DELAYS, UrlGetter, WebhookDelivery, WebhookDispatcher
from web.payments.signatures import payment_signature

log = logging.getLogger(__name__)

DEFAULT_REFUND_DELAY_SECONDS = 0.2
DEFAULT_EMAIL = "learner@example.com"
DEFAULT_CONTACT = "+919000090000"


class RazorpaySandbox:
    """State and behaviour of one sandbox; the aiohttp app holds exactly one of these."""

    def __init__(self, *, key_id: str, key_secret: str, webhook_secret: str, url_getter: UrlGetter,
                 clock: Clock, hold_webhooks: bool = False,
                 webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
                 refund_delay: float | None = DEFAULT_REFUND_DELAY_SECONDS) -> None:
        self.key_id = key_id
        self.key_secret = key_secret
        self.clock = clock
        self.ledger = Ledger(clock)
        self.webhooks = WebhookDispatcher(secret=webhook_secret, url_getter=url_getter, hold=hold_webhooks,
                                          retry_delays=webhook_retry_delays)
        # None leaves refunds pending until a test settles them with process_refund / fail_refund.
        self.refund_delay = refund_delay
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def outbox(self) -> list[WebhookDelivery]:
        return self.webhooks.outbox

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def _emit(self, event: str, entities: Mapping[str, Mapping[str, Any]]) -> None:
        self.webhooks.emit(event, entities, self._now())

    # orders and payments

    def create_order(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return self.ledger.create_order(data).to_api()

    async def pay_order(self, order_id: str, *, method: str = "card", email: str = DEFAULT_EMAIL,
                        contact: str = DEFAULT_CONTACT, description: str | None = None) -> dict[str, str]:
        """Pay as a customer in Checkout would; returns the fields Checkout hands to `handler`.

        Orders created with payment_capture=0 stop at authorized, waiting for a capture call.
        """
        payment = self.ledger.start_payment(order_id, method=method, email=email, contact=contact,
                                            description=description)
        self.ledger.authorize(payment)
        self._emit("payment.authorized", {"payment": payment.to_api()})
        if self.ledger.order(order_id).payment_capture:
            self.ledger.mark_captured(payment)
            self._announce_capture(payment)
        return {
            "razorpay_payment_id": payment.id,
            "razorpay_order_id": payment.order_id,
            "razorpay_signature": payment_signature(payment.order_id, payment.id, self.key_secret),
        }

    async def fail_order(self, order_id: str, *, method: str = "card", email: str = DEFAULT_EMAIL,
                         contact: str = DEFAULT_CONTACT,
                         description: str = "Your payment could not be completed as this transaction "
                                            "was declined by the bank.") -> dict[str, Any]:
        """Fail an attempt as a declining bank would; returns Checkout's payment.failed `error`."""
        payment = self.ledger.start_payment(order_id, method=method, email=email, contact=contact,
                                            description=None)
        error = PaymentError(code="BAD_REQUEST_ERROR", description=description, source="bank",
                             step="payment_authorization", reason="payment_failed")
        self.ledger.fail(payment, error)
        self._emit("payment.failed", {"payment": payment.to_api()})
        return {
            "code": error.code,
            "description": error.description,
            "source": error.source,
            "step": error.step,
            "reason": error.reason,
            "metadata": {"order_id": payment.order_id, "payment_id": payment.id},
        }

    def capture(self, payment_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        payment = self.ledger.capture(payment_id, data)
        self._announce_capture(payment)
        return payment.to_api()

    def _announce_capture(self, payment: Payment) -> None:
        order = self.ledger.order(payment.order_id)
        self._emit("payment.captured", {"payment": payment.to_api()})
        self._emit("order.paid", {"payment": payment.to_api(), "order": order.to_api()})

    # refunds

    def refund(self, payment_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        refund = self.ledger.refund(payment_id, data)
        self._emit("refund.created", self._refund_entities(refund))
        if self.refund_delay is not None:
            task = asyncio.get_running_loop().create_task(self._settle_later(refund.id, self.refund_delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return refund.to_api()

    async def process_refund(self, refund_id: str) -> dict[str, Any]:
        return self._settle(refund_id, succeed=True)

    async def fail_refund(self, refund_id: str) -> dict[str, Any]:
        return self._settle(refund_id, succeed=False)

    def _settle(self, refund_id: str, *, succeed: bool) -> dict[str, Any]:
        refund = self.ledger.settle_refund(refund_id, succeed=succeed)
        self._emit("refund.processed" if succeed else "refund.failed", self._refund_entities(refund))
        return refund.to_api()

    async def _settle_later(self, refund_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        # A test may have settled it by hand meanwhile; that is not an error here.
        with contextlib.suppress(SandboxError):
            self._settle(refund_id, succeed=True)

    def _refund_entities(self, refund: Refund) -> dict[str, dict[str, Any]]:
        return {"refund": refund.to_api(), "payment": self.ledger.payment(refund.payment_id).to_api()}

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.webhooks.close()
