"""What the platform holds to take payments: the gateway, Checkout's script and where webhooks go.

Lifecycle: created unbound by `setup_payments`; bound when the app starts (the in-process sandbox's
port exists only then; in razorpay mode it is bound at once); unbound when the app stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from web.payments.gateway import PaymentGateway
from web.payments.sandbox.server import SandboxServer

RAZORPAY_CHECKOUT_JS = "https://checkout.razorpay.com/v1/checkout.js"
WEBHOOK_PATH = "/api/payments/webhook"
MERCHANT_NAME = "MentorLive"


class PaymentsNotStarted(RuntimeError):
    pass


@dataclass(frozen=True)
class PaymentSettings:
    mode: str
    hold: timedelta
    # How long after a seat is claimed its order must exist (the gateway's timeout and a margin): a hold
    # older than this without an order was orphaned by a crash and is released, not kept for `hold`.
    order_deadline: timedelta = timedelta(seconds=15)


class PaymentsRuntime:
    def __init__(self, settings: PaymentSettings, *, webhook_url: str | None = None) -> None:
        self.settings = settings
        # Where the in-process sandbox delivers webhooks; read at each delivery, so tests may set it.
        self.webhook_url = webhook_url
        self.sandbox_server: SandboxServer | None = None
        self._gateway: PaymentGateway | None = None
        self._script_url: str | None = None

    def bind(self, gateway: PaymentGateway, script_url: str, sandbox_server: SandboxServer | None = None) -> None:
        self._gateway = gateway
        self._script_url = script_url
        self.sandbox_server = sandbox_server

    def unbind(self) -> None:
        self._gateway = None
        self._script_url = None
        self.sandbox_server = None

    @property
    def gateway(self) -> PaymentGateway:
        if self._gateway is None:
            raise PaymentsNotStarted("payments are available once the app has started")
        return self._gateway

    @property
    def script_url(self) -> str:
        if self._script_url is None:
            raise PaymentsNotStarted("payments are available once the app has started")
        return self._script_url

    def learn_address(self, request: web.Request) -> None:
        """Aim sandbox webhooks at the socket this request arrived on, unless a URL is configured.

        `mentorlive serve --port` does not write the port back into the config, so the listening
        address is read from a live connection; a booking request always precedes any payment.
        """
        if self.webhook_url or self.sandbox_server is None or request.transport is None:
            return
        sockname = request.transport.get_extra_info("sockname")
        if not sockname:
            return
        # An accepted connection's local address is the concrete interface, never a wildcard.
        host, port = str(sockname[0]), int(sockname[1])
        netloc = f"[{host}]" if ":" in host else host
        self.webhook_url = f"http://{netloc}:{port}{WEBHOOK_PATH}"


PAYMENTS: web.AppKey[PaymentsRuntime] = web.AppKey("payments", PaymentsRuntime)
