"""Razorpay's signature formulas, used by the sandbox to sign what it hands out.

The platform verifies through the SDK (web.payments.gateway); the sandbox signs
with the documented formula directly, so a disagreement between the two shows up
in tests instead of being hidden by sharing one implementation.
"""

from __future__ import annotations

import hashlib
import hmac


def payment_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """Checkout's razorpay_signature: hex HMAC-SHA256 of "order_id|payment_id" with the key secret."""
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(key_secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature(raw_body: bytes, webhook_secret: str) -> str:
    """X-Razorpay-Signature: hex HMAC-SHA256 of the exact body bytes with the webhook secret."""
    return hmac.new(webhook_secret.encode(), raw_body, hashlib.sha256).hexdigest()
