"""The payments domain's jobs, registered by name so a Celery worker runs the same code as `serve`.

- `payment_webhook`: the effect of a recorded Razorpay webhook (web.payments.webhook);
- `payment_hold_expiry`: a paid booking's seat hold ran out (web.payments.holds);
- `payment_order_check`: a hold whose order was never created (a crash) is released (web.payments.holds);
- `payment_refund`: give a captured payment back, then follow it until Razorpay processes it
  (web.payments.refunds); when it keeps failing, admins and the learner are told.

Every body takes ids from its arguments, loads, calls the service and is safe to run twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from web.jobs import JOBS
from web.payments.holds import PAYMENT_HOLD_EXPIRY, PAYMENT_ORDER_CHECK, expire_hold, release_orphan_hold
from web.payments.refunds import PAYMENT_REFUND, refund_given_up, run_refund
from web.payments.webhook import PAYMENT_WEBHOOK, process_webhook


def register_tasks(app: web.Application) -> None:
    async def payment_webhook(args: dict[str, Any]) -> None:
        await process_webhook(app, args)

    async def payment_hold_expiry(args: dict[str, Any]) -> None:
        await expire_hold(app, int(args["booking_id"]))

    async def payment_order_check(args: dict[str, Any]) -> None:
        await release_orphan_hold(app, int(args["booking_id"]), datetime.fromisoformat(str(args["claimed_at"])))

    async def payment_refund(args: dict[str, Any]) -> None:
        await run_refund(app, args)

    async def payment_refund_given_up(args: dict[str, Any], error: str) -> None:
        await refund_given_up(app, args, error)

    app[JOBS].register(PAYMENT_WEBHOOK, payment_webhook)
    app[JOBS].register(PAYMENT_HOLD_EXPIRY, payment_hold_expiry)
    app[JOBS].register(PAYMENT_ORDER_CHECK, payment_order_check)
    app[JOBS].register(PAYMENT_REFUND, payment_refund, on_give_up=payment_refund_given_up)
