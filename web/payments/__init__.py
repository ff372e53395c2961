"""Razorpay payments: the SDK gateway the platform calls, and the local sandbox it can call instead."""

from web.payments.gateway import PaymentGateway, PaymentGatewayError
from web.payments.ledger import SandboxError
from web.payments.sandbox import SANDBOX, create_sandbox_app
from web.payments.sandbox_service import RazorpaySandbox
from web.payments.server import SandboxServer, start_sandbox
from web.payments.webhooks import WebhookDelivery, WebhookDispatcher

__all__ = [
    "SANDBOX",
    "PaymentGateway",
    "PaymentGatewayError",
    "RazorpaySandbox",
    "SandboxError",
    "SandboxServer",
    "WebhookDelivery",
    "WebhookDispatcher",
    "create_sandbox_app",
    "start_sandbox",
]
