"""The platform's one door to Razorpay: the official SDK, kept off the event loop.

The SDK is synchronous (`requests`) and sets no timeout of its own, so every call
runs in a worker thread with an explicit timeout. Its several exception types,
and the transport's, become one PaymentGatewayError carrying Razorpay's code.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 10.0


class PaymentGatewayError(Exception):
    """A refused or failed Razorpay call.

    `code` is Razorpay's error code (BAD_REQUEST_ERROR, GATEWAY_ERROR, SERVER_ERROR)
    or TIMEOUT / NETWORK_ERROR / BAD_RESPONSE when no answer from Razorpay was read.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"PaymentGatewayError({self.message!r}, {self.code!r})"


_SDK_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (BadRequestError, "BAD_REQUEST_ERROR"),
    (GatewayError, "GATEWAY_ERROR"),
    (ServerError, "SERVER_ERROR"),
)


def _translate(exc: Exception) -> PaymentGatewayError | None:
    for kind, code in _SDK_ERRORS:
        if isinstance(exc, kind):
            return PaymentGatewayError(str(exc) or code, code)
    if isinstance(exc, requests.Timeout):
        return PaymentGatewayError(f"Razorpay did not answer in time: {exc}", "TIMEOUT")
    # requests' JSONDecodeError is also a RequestException: a non-JSON reply (a proxy's HTML page).
    if isinstance(exc, requests.JSONDecodeError | ValueError):
        return PaymentGatewayError(f"Razorpay's reply could not be read: {exc}", "BAD_RESPONSE")
    if isinstance(exc, requests.RequestException):
        return PaymentGatewayError(f"Razorpay could not be reached: {exc}", "NETWORK_ERROR")
    return None


class PaymentGateway:
    def __init__(self, *, key_id: str, key_secret: str, webhook_secret: str, base_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        """`base_url` is the API root without /v1 (the SDK adds it); None means api.razorpay.com."""
        self.key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self._base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        # requests.Session is not documented as thread-safe: one SDK client per worker thread.
        self._local = threading.local()

    def _client(self) -> razorpay.Client:
        client: razorpay.Client | None = getattr(self._local, "client", None)
        if client is None:
            options: dict[str, Any] = {"base_url": self._base_url} if self._base_url else {}
            client = razorpay.Client(auth=(self.key_id, self._key_secret), **options)
            self._local.client = client
        return client

    async def _call(self, call: Callable[[razorpay.Client], T]) -> T:
        def run() -> T:
            try:
                return call(self._client())
            except Exception as exc:
                error = _translate(exc)
                if error is None:
                    raise
                raise error from exc

        return await asyncio.to_thread(run)

    # Every data dict below is built fresh: several SDK methods write into their
    # (shared, mutable) default argument.

    async def create_order(self, amount_paise: int, currency: str, receipt: str,
                           notes: Mapping[str, str] | None = None) -> dict[str, Any]:
        data = {"amount": amount_paise, "currency": currency, "receipt": receipt, "notes": dict(notes or {})}
        return await self._call(lambda c: c.order.create(data, timeout=self.timeout))

    async def fetch_order(self, order_id: str) -> dict[str, Any]:
        return await self._call(lambda c: c.order.fetch(order_id, {}, timeout=self.timeout))

    async def order_payments(self, order_id: str) -> list[dict[str, Any]]:
        reply = await self._call(lambda c: c.order.payments(order_id, {}, timeout=self.timeout))
        items: list[dict[str, Any]] = reply.get("items", [])
        return items

    async def fetch_payment(self, payment_id: str) -> dict[str, Any]:
        return await self._call(lambda c: c.payment.fetch(payment_id, {}, timeout=self.timeout))

    async def capture(self, payment_id: str, amount_paise: int, currency: str) -> dict[str, Any]:
        """For orders created with manual capture; auto-captured payments never need it."""
        return await self._call(
            lambda c: c.payment.capture(payment_id, amount_paise, {"currency": currency}, timeout=self.timeout))

    async def refund(self, payment_id: str, amount_paise: int | None = None,
                     notes: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Refund a captured payment, all of what is left when amount_paise is None."""
        data: dict[str, Any] = {"notes": dict(notes or {})}
        if amount_paise is not None:
            data["amount"] = amount_paise
        return await self._call(lambda c: c.payment.refund(payment_id, data, timeout=self.timeout))

    async def payment_refunds(self, payment_id: str) -> list[dict[str, Any]]:
        """Every refund Razorpay holds for a payment: a retried refund job checks here before creating one."""
        reply = await self._call(lambda c: c.payment.fetch_multiple_refund(payment_id, {}, timeout=self.timeout))
        items: list[dict[str, Any]] = reply.get("items", [])
        return items

    async def fetch_refund(self, refund_id: str) -> dict[str, Any]:
        return await self._call(lambda c: c.refund.fetch(refund_id, {}, timeout=self.timeout))

    def verify_payment_signature(self, order_id: str | None, payment_id: str | None,
                                 signature: str | None) -> bool:
        """Checkout's handler fields; pass the order id stored on the server, not the browser's."""
        if not (isinstance(order_id, str) and isinstance(payment_id, str) and isinstance(signature, str)):
            return False
        if not (order_id and payment_id and signature):
            return False
        fields = {"razorpay_order_id": order_id, "razorpay_payment_id": payment_id,
                  "razorpay_signature": signature}
        try:
            return bool(self._client().utility.verify_payment_signature(fields))
        # TypeError: hmac.compare_digest refuses non-ASCII text, which no genuine signature has.
        except (SignatureVerificationError, TypeError):
            return False

    def verify_webhook_signature(self, raw_body: bytes, signature: str | None) -> bool:
        """The X-Razorpay-Signature header over the body exactly as received, before any JSON parsing."""
        # An empty secret would let anyone compute a valid signature.
        if not isinstance(signature, str) or not signature or not self._webhook_secret:
            return False
        try:
            body = raw_body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        try:
            return bool(self._client().utility.verify_webhook_signature(body, signature,
                                                                       self._webhook_secret))
        except (SignatureVerificationError, TypeError):
            return False
