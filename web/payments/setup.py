"""`setup_payments(app)`: the gateway from `[payments]` and the paid-booking flow bookings call.

The routes (web.payments.endpoints) and the jobs (web.payments.tasks) are added by the app factory.

mode = "sandbox": the project's Razorpay sandbox, run in this process on a loopback port while the
app runs (or, with `api_url`, one running elsewhere); secrets not configured are generated into the data folder.
mode = "razorpay": the real service; its keys must be configured (the app refuses to start without).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from web.bookings.service import PAID_BOOKINGS
from web.config import Config, ConfigError, ensure_secret
from web.keys import CLOCK, CONFIG
from web.middlewares import CONTENT_SECURITY, origin_of
from web.payments.checkout import PaidBookings
from web.payments.gateway import PaymentGateway
from web.payments.runtime import PAYMENTS, RAZORPAY_CHECKOUT_JS, WEBHOOK_PATH, PaymentSettings, PaymentsRuntime
from web.payments.sandbox.server import start_sandbox

SANDBOX_SCRIPT_PATH = "/sandbox/checkout.js"
# Beyond the gateway's timeout, before a seat claimed without an order counts as orphaned.
ORDER_MARGIN_SECONDS = 5.0
# What Razorpay's Checkout needs besides its script: its API and logging endpoints, its iframe, its images.
RAZORPAY_SOURCES = {
    "script-src": ("https://checkout.razorpay.com",),
    "frame-src": ("https://api.razorpay.com", "https://checkout.razorpay.com"),
    "connect-src": ("https://api.razorpay.com", "https://lumberjack.razorpay.com", "https://checkout.razorpay.com"),
    "img-src": ("https://*.razorpay.com",),
}


def allow_checkout(app: web.Application, script_url: str) -> None:
    """Let pages load Checkout from where it is served: Razorpay, or the sandbox's origin."""
    security = app.get(CONTENT_SECURITY)
    if security is None:
        return
    if script_url == RAZORPAY_CHECKOUT_JS:
        for directive, sources in RAZORPAY_SOURCES.items():
            security.allow(directive, *sources)
        return
    origin = origin_of(script_url)
    for directive in ("script-src", "frame-src", "connect-src"):
        security.allow(directive, origin)


def _settings(config: Config) -> PaymentSettings:
    mode = config.str("payments", "mode")
    if mode not in ("sandbox", "razorpay"):
        raise ConfigError(f'[payments] mode must be "sandbox" or "razorpay", not {mode!r}')
    hold = config.int("payments", "hold_minutes")
    if hold < 1:
        raise ConfigError("[payments] hold_minutes must be at least 1")
    if not 0 <= config.int("payments", "late_refund_percent") <= 100:
        raise ConfigError("[payments] late_refund_percent must be between 0 and 100")
    if config.float("payments", "full_refund_hours") < 0:
        raise ConfigError("[payments] full_refund_hours must not be negative")
    deadline = timedelta(seconds=config.float("payments", "request_timeout_seconds") + ORDER_MARGIN_SECONDS)
    return PaymentSettings(mode=mode, hold=timedelta(minutes=hold), order_deadline=deadline)


def _configured_webhook_url(config: Config) -> str | None:
    public = config.str("web", "public_url").rstrip("/")
    return f"{public}{WEBHOOK_PATH}" if public else None


def setup_payments(app: web.Application) -> None:
    config = app[CONFIG]
    settings = _settings(config)
    runtime = PaymentsRuntime(settings, webhook_url=_configured_webhook_url(config))
    key_id = config.str("payments", "key_id")
    api_url = config.str("payments", "api_url").rstrip("/")
    timeout = config.float("payments", "request_timeout_seconds")
    if settings.mode == "razorpay":
        key_secret, webhook_secret = config.str("payments", "key_secret"), config.str("payments", "webhook_secret")
        missing = [name for name, value in (("key_id", key_id), ("key_secret", key_secret),
                                            ("webhook_secret", webhook_secret)) if not value]
        if missing:
            names = ", ".join(f"MENTORLIVE_PAYMENTS_{name.upper()}" for name in missing)
            raise ConfigError(f"[payments] mode razorpay needs real keys: set {names}")
        runtime.bind(PaymentGateway(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret,
                                    base_url=api_url or None, timeout=timeout), RAZORPAY_CHECKOUT_JS)
        allow_checkout(app, RAZORPAY_CHECKOUT_JS)
    else:
        key_secret = ensure_secret(config, "payments", "key_secret", "razorpay_key_secret")
        webhook_secret = ensure_secret(config, "payments", "webhook_secret", "razorpay_webhook_secret")
        if api_url:
            runtime.bind(PaymentGateway(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret,
                                        base_url=api_url, timeout=timeout), api_url + SANDBOX_SCRIPT_PATH)
            allow_checkout(app, api_url + SANDBOX_SCRIPT_PATH)
        else:
            async def sandbox_lifecycle(app: web.Application) -> AsyncIterator[None]:
                server = await start_sandbox(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret,
                                             webhook_url_getter=lambda: runtime.webhook_url, clock=app[CLOCK],
                                             port=config.int("payments", "sandbox_port"))
                runtime.bind(PaymentGateway(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret,
                                            base_url=server.url, timeout=timeout), server.checkout_js_url, server)
                allow_checkout(app, server.checkout_js_url)
                try:
                    yield
                finally:
                    runtime.unbind()
                    await server.close()

            app.cleanup_ctx.append(sandbox_lifecycle)
    app[PAYMENTS] = runtime
    app[PAID_BOOKINGS] = PaidBookings(app)
