"""Razorpay's webhook events (POST /api/payments/webhook), authenticated by their signature alone.

Record, then process. The handler verifies the signature over the raw body, then in one
transaction inserts the WebhookEvent row (its primary key is Razorpay's event id, so a redelivery
fails the insert and is acknowledged without effect) and a `payment_webhook` job carrying the
few facts the effect needs. It answers 200 as soon as that commits. Doing the work in a durable
job rather than in the request means Razorpay's 5 s deadline never depends on our database or
bus, a client disconnect cannot cancel the effect half way, and an effect that fails (say the
database blips) is retried by the dispatcher instead of lost behind an event id we already
acknowledged. The job's effects are themselves idempotent (web.payments.settlement), so Celery's
at-least-once redelivery of a job is harmless too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from models.tables import WebhookEvent
from web.jobs import JOB_RUNNER
from web.keys import CLOCK, DB
from web.payments.refunds import complete_refund, refund_failed
from web.payments.runtime import PAYMENTS
from web.payments.settlement import Outcome, confirm_payment, release_payment
from workers.scheduler import schedule_job

log = logging.getLogger(__name__)

PAYMENT_WEBHOOK = "payment_webhook"
CAPTURE_EVENTS = frozenset({"payment.captured", "order.paid"})
HANDLED_EVENTS = CAPTURE_EVENTS | {"payment.failed", "refund.processed", "refund.failed"}
DEFAULT_FAILURE = "The payment failed."


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any]:
    holder = payload.get("payload", {}).get(name, {})
    entity = holder.get("entity", {}) if isinstance(holder, dict) else {}
    return entity if isinstance(entity, dict) else {}


def webhook_facts(payload: dict[str, Any]) -> dict[str, Any]:
    """Only the ids and reasons the effect needs: the job table is no place for customers' emails."""
    payment = _entity(payload, "payment")
    refund = _entity(payload, "refund")
    order = _entity(payload, "order")
    return {
        "event": payload.get("event"),
        "order_id": payment.get("order_id") or order.get("id"),
        "payment_id": payment.get("id") or refund.get("payment_id"),
        "refund_id": refund.get("id"),
        "error": payment.get("error_description"),
        "amount": payment.get("amount"),
        "currency": payment.get("currency"),
        "refunded_in_full": _refunded_in_full(payment) if refund else None,
    }


def _refunded_in_full(payment: dict[str, Any]) -> bool | None:
    """Whether the refund event's payment has all its money back; None when the payload does not say."""
    amount, refunded = payment.get("amount"), payment.get("amount_refunded")
    if payment.get("status") == "refunded":
        return True
    if isinstance(amount, int) and isinstance(refunded, int):
        return refunded >= amount
    return None


async def record_webhook(app: web.Application, raw: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, str]]:
    """Verify, record the event id and queue its effect in one transaction: (HTTP status, JSON reply)."""
    gateway = app[PAYMENTS].gateway
    if not gateway.verify_webhook_signature(raw, headers.get("X-Razorpay-Signature")):
        return 400, {"error": "The webhook signature is invalid."}
    event_id = headers.get("X-Razorpay-Event-Id", "")
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return 400, {"error": "The webhook body is not JSON."}
    if not event_id or not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        return 400, {"error": "The webhook has no event id or event."}
    event = payload["event"]
    now = app[CLOCK].now()
    async with app[DB].session() as s:
        s.add(WebhookEvent(event_id=event_id[:80], event=event[:60], received_at=now))
        if event in HANDLED_EVENTS:
            schedule_job(s, kind=PAYMENT_WEBHOOK, args={"event_id": event_id, **webhook_facts(payload)},
                         due_at=now, now=now)
        try:
            await s.commit()
        except IntegrityError:
            return 200, {"status": "duplicate"}
    app[JOB_RUNNER].poke()
    return 200, {"status": "accepted"}


async def process_webhook(app: web.Application, facts: dict[str, Any]) -> None:
    event, order_id, payment_id = facts.get("event"), facts.get("order_id"), facts.get("payment_id")
    if event in CAPTURE_EVENTS and order_id and payment_id:
        amount, currency = facts.get("amount"), facts.get("currency")
        settled = await confirm_payment(app, str(order_id), str(payment_id),
                                        amount_paise=amount if isinstance(amount, int) else None,
                                        currency=currency if isinstance(currency, str) else None)
        if settled.outcome == Outcome.UNKNOWN:
            # Only possible if storing the Payment row failed after Razorpay created the order.
            log.error("captured payment %s for unknown order %s: refund it by hand", payment_id, order_id)
    elif event == "payment.failed" and order_id:
        await release_payment(app, str(order_id), str(facts.get("error") or DEFAULT_FAILURE))
    elif event == "refund.processed" and payment_id and facts.get("refund_id"):
        in_full = facts.get("refunded_in_full")
        await complete_refund(app, str(payment_id), str(facts["refund_id"]),
                              in_full=in_full if isinstance(in_full, bool) else None)
    elif event == "refund.failed" and payment_id and facts.get("refund_id"):
        await refund_failed(app, str(payment_id), str(facts["refund_id"]))
    else:
        log.warning("webhook %s (%s) lacks the ids it needs: %s", facts.get("event_id"), event, facts)
