"""Running the sandbox on a real loopback socket inside the current event loop.

The SDK speaks synchronous `requests`, so an in-memory test client is not enough:
it needs an address it can connect to from a worker thread.
"""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from models.clock import Clock
from web.payments.sandbox.app import SANDBOX, create_sandbox_app
from web.payments.sandbox.service import DEFAULT_REFUND_DELAY_SECONDS, RazorpaySandbox
from web.payments.sandbox.webhook_sender import DEFAULT_RETRY_DELAYS, UrlGetter


class SandboxServer:
    def __init__(self, app: web.Application, runner: web.AppRunner, url: str) -> None:
        self.app = app
        self.runner = runner
        self.url = url

    @property
    def sandbox(self) -> RazorpaySandbox:
        return self.app[SANDBOX]

    @property
    def checkout_js_url(self) -> str:
        return f"{self.url}/sandbox/checkout.js"

    async def close(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> SandboxServer:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()


async def start_sandbox(*, key_id: str, key_secret: str, webhook_secret: str,
                        webhook_url: str | None = None, webhook_url_getter: UrlGetter | None = None,
                        clock: Clock | None = None, hold_webhooks: bool = False,
                        webhook_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
                        refund_delay: float | None = DEFAULT_REFUND_DELAY_SECONDS,
                        host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """Serve create_sandbox_app(...) on host:port (0 picks a free port); `.url` has no /v1."""
    app = create_sandbox_app(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret,
                             webhook_url=webhook_url, webhook_url_getter=webhook_url_getter, clock=clock,
                             hold_webhooks=hold_webhooks, webhook_retry_delays=webhook_retry_delays,
                             refund_delay=refund_delay)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    netloc = f"[{bound_host}]" if ":" in bound_host else bound_host
    return SandboxServer(app, runner, f"http://{netloc}:{bound_port}")
