"""A local stand-in for the part of Razorpay's API MentorLive uses, plus a Checkout imitation.

The official SDK is pointed at this app (base_url without /v1), so replies follow
Razorpay's shapes and error bodies closely enough for the SDK to raise the same
exceptions it raises against the real service.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import BasicAuth, hdrs, web

from models.clock import Clock, SystemClock
from web.payments.sandbox.checkout_page import render_checkout
from web.payments.sandbox.ledger import SandboxError
from web.payments.sandbox.service import DEFAULT_REFUND_DELAY_SECONDS, RazorpaySandbox
from web.payments.sandbox.webhook_sender import DEFAULT_RETRY_DELAYS, UrlGetter

SANDBOX: web.AppKey[RazorpaySandbox] = web.AppKey("razorpay_sandbox", RazorpaySandbox)

# The Checkout drop-in the merchant page loads; it lives beside the sandbox, not in the app's static folder.
SHIM_PATH = Path(__file__).resolve().parent / "razorpay-sandbox.js"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(error: SandboxError) -> web.Response:
    return web.json_response(error.to_api(), status=error.status)


def _check_auth(request: web.Request, sandbox: RazorpaySandbox) -> None:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if not header:
        raise SandboxError("Please provide your api key for authentication purposes.", status=401)
    try:
        auth = BasicAuth.decode(header)
    except ValueError as exc:
        raise SandboxError("Please provide your api key for authentication purposes.", status=401) from exc
    if not hmac.compare_digest(auth.login.encode(), sandbox.key_id.encode()):
        raise SandboxError("The api key provided is invalid", status=401)
    if not hmac.compare_digest(auth.password.encode(), sandbox.key_secret.encode()):
        raise SandboxError("Authentication failed", status=401)


@web.middleware
async def _api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Razorpay's error body for every /v1 failure, authentication included."""
    try:
        _check_auth(request, request.config_dict[SANDBOX])
        return await handler(request)
    except SandboxError as exc:
        return _error(exc)
    except web.HTTPNotFound:
        return _error(SandboxError("The requested URL was not found on the server."))
    except web.HTTPMethodNotAllowed:
        return _error(SandboxError("The requested URL was not found on the server.", status=405))


async def _body(request: web.Request) -> Mapping[str, Any]:
    """The request's fields, from JSON (what the SDK sends) or a form (what curl examples send)."""
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except json.JSONDecodeError as exc:
            raise SandboxError("The request body is not valid JSON") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise SandboxError("The request body must be a JSON object")
        return data
    form = await request.post()
    fields: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for name, value in form.items():
        text = value if isinstance(value, str) else ""
        if name.startswith("notes[") and name.endswith("]"):
            notes[name[6:-1]] = text
        else:
            fields[name] = text
    if notes:
        fields["notes"] = notes
    return fields


def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"entity": "collection", "count": len(items), "items": items}


# /v1 API


async def create_order(request: web.Request) -> web.Response:
    return web.json_response(request.config_dict[SANDBOX].create_order(await _body(request)))


async def fetch_order(request: web.Request) -> web.Response:
    return web.json_response(request.config_dict[SANDBOX].ledger.order(request.match_info["id"]).to_api())


async def order_payments(request: web.Request) -> web.Response:
    payments = request.config_dict[SANDBOX].ledger.order_payments(request.match_info["id"])
    return web.json_response(_collection([p.to_api() for p in payments]))


async def fetch_payment(request: web.Request) -> web.Response:
    return web.json_response(request.config_dict[SANDBOX].ledger.payment(request.match_info["id"]).to_api())


async def capture_payment(request: web.Request) -> web.Response:
    sandbox = request.config_dict[SANDBOX]
    return web.json_response(sandbox.capture(request.match_info["id"], await _body(request)))


async def refund_payment(request: web.Request) -> web.Response:
    sandbox = request.config_dict[SANDBOX]
    return web.json_response(sandbox.refund(request.match_info["id"], await _body(request)))


async def payment_refunds(request: web.Request) -> web.Response:
    ledger = request.config_dict[SANDBOX].ledger
    payment = ledger.payment(request.match_info["id"])
    return web.json_response(_collection([r.to_api() for r in ledger.refunds.values()
                                          if r.payment_id == payment.id]))


async def fetch_refund(request: web.Request) -> web.Response:
    return web.json_response(request.config_dict[SANDBOX].ledger.refund_entity(request.match_info["id"]).to_api())


# Checkout imitation


async def checkout_js(request: web.Request) -> web.Response:
    return web.Response(body=SHIM_PATH.read_bytes(), content_type="application/javascript",
                        headers={"Cache-Control": "no-cache"})


async def checkout_page(request: web.Request) -> web.Response:
    sandbox = request.config_dict[SANDBOX]
    query = request.query
    order_id = request.match_info["order_id"]
    key = query.get("key", "")
    order = sandbox.ledger.orders.get(order_id)
    problem: str | None = None
    if key != sandbox.key_id:
        problem = "The api key provided is invalid"
    elif order is None:
        problem = "The id provided does not exist"
    elif order.status == "paid":
        problem = "Order has already been paid"
    page = render_checkout(
        order_id=order_id,
        order=order.to_api() if order else None,
        key=key,
        origin=query.get("origin", ""),
        name=query.get("name", ""),
        description=query.get("description", ""),
        email=query.get("email", ""),
        contact=query.get("contact", ""),
        customer=query.get("customer", ""),
        # Relative, so the page works wherever the sandbox is mounted.
        action_base=quote(order_id, safe=""),
        problem=problem,
    )
    return web.Response(text=page, content_type="text/html", status=200 if order else 404,
                        headers={"Cache-Control": "no-store"})


async def _checkout_action(request: web.Request) -> tuple[RazorpaySandbox, str, Mapping[str, Any]]:
    sandbox = request.config_dict[SANDBOX]
    data = await _body(request)
    # Checkout authenticates with the public key id only, never the secret.
    if data.get("key") != sandbox.key_id:
        raise SandboxError("The api key provided is invalid", status=401)
    return sandbox, request.match_info["order_id"], data


def _customer(data: Mapping[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name in ("email", "contact"):
        value = data.get(name)
        if isinstance(value, str) and value:
            fields[name] = value
    return fields


async def checkout_pay(request: web.Request) -> web.Response:
    try:
        sandbox, order_id, data = await _checkout_action(request)
        return web.json_response(await sandbox.pay_order(order_id, **_customer(data)))
    except SandboxError as exc:
        return _error(exc)


async def checkout_fail(request: web.Request) -> web.Response:
    try:
        sandbox, order_id, data = await _checkout_action(request)
        return web.json_response({"error": await sandbox.fail_order(order_id, **_customer(data))})
    except SandboxError as exc:
        return _error(exc)


def create_sandbox_app(*, key_id: str, key_secret: str, webhook_secret: str,
                       webhook_url: str | None = None, webhook_url_getter: UrlGetter | None = None,
                       clock: Clock | None = None, hold_webhooks: bool = False,
                       webhook_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
                       refund_delay: float | None = DEFAULT_REFUND_DELAY_SECONDS) -> web.Application:
    """The sandbox as an aiohttp app; its RazorpaySandbox is `app[SANDBOX]`.

    It can run on its own (start_sandbox) or be mounted with add_subapp(prefix, app),
    the SDK's base_url then being the URL of that prefix.

    `webhook_url_getter` is read at each delivery, for hosts whose own URL is known
    only once they listen; with neither it nor `webhook_url`, events stay in the outbox.
    """
    if webhook_url is not None and webhook_url_getter is not None:
        raise ValueError("give webhook_url or webhook_url_getter, not both")
    getter: UrlGetter = webhook_url_getter or (lambda: webhook_url)
    app = web.Application()
    sandbox = RazorpaySandbox(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret,
                              url_getter=getter, clock=clock or SystemClock(), hold_webhooks=hold_webhooks,
                              webhook_retry_delays=webhook_retry_delays, refund_delay=refund_delay)
    app[SANDBOX] = sandbox

    async def close_sandbox(_: web.Application) -> None:
        await sandbox.close()

    app.on_cleanup.append(close_sandbox)
    # The API is a sub-application so its auth and error middleware cover exactly /v1, even
    # when the whole sandbox is itself mounted under a prefix in a bigger app.
    api = web.Application(middlewares=[_api_errors])
    api.router.add_post("/orders", create_order)
    api.router.add_get("/orders/{id}", fetch_order)
    api.router.add_get("/orders/{id}/payments", order_payments)
    api.router.add_get("/payments/{id}", fetch_payment)
    api.router.add_post("/payments/{id}/capture", capture_payment)
    api.router.add_post("/payments/{id}/refund", refund_payment)
    api.router.add_get("/payments/{id}/refunds", payment_refunds)
    api.router.add_get("/refunds/{id}", fetch_refund)
    app.add_subapp("/v1", api)
    app.router.add_get("/sandbox/checkout.js", checkout_js)
    app.router.add_get("/sandbox/checkout/{order_id}", checkout_page)
    app.router.add_post("/sandbox/checkout/{order_id}/pay", checkout_pay)
    app.router.add_post("/sandbox/checkout/{order_id}/fail", checkout_fail)
    return app
