"""The payment endpoints.

POST /api/payments/webhook   Razorpay's events: signature-checked, recorded, handed to a job (no cookie, no CSRF)
POST /api/payments/verify    Checkout's handler fields → the booking confirmed (or why not)
POST /api/payments/failed    Checkout reported a failure or was closed → the hold ends, the seat is free
POST /api/payments/checkout  {"session_id"} → the learner's open hold and its order again
GET  /api/payments/earnings  a mentor's takings per paid session
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select

from models.db import retry_transaction
from models.enums import BookingStatus, PaymentStatus, Role
from models.tables import Booking, MentorSession, Payment, User
from web.bookings.schemas import booking_json
from web.errors import ApiError, bad_request, conflict, not_found
from web.http import fields as v
from web.http.body import json_object
from web.http.identity import Identity, require_identity
from web.keys import DB
from web.middlewares import csrf_exempt
from web.money import inr
from web.payments.checkout import PaidBookings, checkout_json
from web.payments.gateway import PaymentGatewayError
from web.payments.queries import mentor_earnings
from web.payments.runtime import PAYMENTS, WEBHOOK_PATH
from web.payments.settlement import (
    DUPLICATE,
    LATE_NO_SEAT,
    WRONG_AMOUNT,
    Settlement,
    confirm_payment,
    release_payment,
)
from web.payments.webhook import record_webhook
from web.sessions.queries import get_view
from web.sessions.schemas import SessionView, session_body

routes = web.RouteTableDef()

NO_SUCH_ORDER = "No payment of yours has that order id."
BAD_SIGNATURE = "The payment could not be verified: its signature does not match your order."
DISMISSED = "Checkout was closed before paying."
FAILED = "The payment failed."
UNCONFIRMED = ("Razorpay could not be asked about your payment just now. If it went through, your booking "
               "is confirmed automatically within a few minutes; you won't be charged twice.")
NOT_CAPTURED = "Razorpay has not captured this payment, so the booking is not confirmed."


def _text(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise bad_request(f"{name} is required.", name)
    return value.strip()


async def _own_payment(request: web.Request, identity: Identity, order_id: str) -> tuple[Payment, Booking]:
    """The payment row WE stored for this order, only if it belongs to the caller."""
    async with request.app[DB].session() as s:
        row = (await s.exec(
            select(Payment, Booking)
            .join(Booking, col(Booking.id) == col(Payment.booking_id))
            .where(col(Payment.razorpay_order_id) == order_id)
        )).first()
    # Someone else's order reads as unknown: its existence is none of the caller's business.
    if row is None or row[1].learner_id != identity.user_id:
        raise not_found(NO_SUCH_ORDER)
    return row[0], row[1]


def payment_json(payment: Payment) -> dict[str, Any]:
    return {
        "order_id": payment.razorpay_order_id,
        "payment_id": payment.razorpay_payment_id,
        "status": payment.status,
        "amount_paise": payment.amount_paise,
        "currency": payment.currency,
        "display": inr(payment.amount_paise),
        "refund_status": payment.refund_status,
        "failure_reason": payment.failure_reason,
    }


def _answer(app: web.Application, identity: Identity, booking: Booking, learner: User, view: SessionView,
            payment: Payment | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "booking": booking_json(booking, learner),
        "session": session_body(app, view, identity),
    }
    if payment is not None:
        body["payment"] = payment_json(payment)
    return body


async def _body(request: web.Request, identity: Identity, booking_id: int,
                payment_id: int | None) -> dict[str, Any]:
    async with request.app[DB].session() as s:
        booking = await s.get(Booking, booking_id)
        learner = await s.get(User, identity.user_id)
        payment = await s.get(Payment, payment_id) if payment_id is not None else None
        assert booking is not None and learner is not None
        view = await get_view(s, booking.session_id, identity)
    return _answer(request.app, identity, booking, learner, view, payment)


@routes.post("/api/payments/verify")
async def verify(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    data = await json_object(request)
    order_id = _text(data, "razorpay_order_id")
    payment_id = _text(data, "razorpay_payment_id")
    signature = _text(data, "razorpay_signature")
    stored, _booking = await _own_payment(request, identity, order_id)
    # Signed over the order id we stored, not the one the browser sent back.
    if not request.app[PAYMENTS].gateway.verify_payment_signature(stored.razorpay_order_id, payment_id, signature):
        raise bad_request(BAD_SIGNATURE, "razorpay_signature")
    captured = await _captured_with_razorpay(request, stored, payment_id)
    amount, currency = captured.get("amount"), captured.get("currency")
    settled = await confirm_payment(request.app, stored.razorpay_order_id, payment_id,
                                    amount_paise=amount if isinstance(amount, int) else -1,
                                    currency=currency if isinstance(currency, str) else "", viewer=identity)
    wrong = amount != stored.amount_paise or currency != stored.currency
    return await _verified(request, identity, settled, payment_id, WRONG_AMOUNT if wrong else LATE_NO_SEAT)


async def _captured_with_razorpay(request: web.Request, stored: Payment, payment_id: str) -> dict[str, Any]:
    """Razorpay's payment, captured: the signature proves who paid which order, not that money was taken.

    An authorized payment (manual capture) is captured here for the order's amount, so a booking is never
    confirmed on money Razorpay would auto-refund days later.
    """
    gateway = request.app[PAYMENTS].gateway
    try:
        payment = await gateway.fetch_payment(payment_id)
        matches = payment.get("amount") == stored.amount_paise and payment.get("currency") == stored.currency
        if payment.get("status") == "authorized" and matches:
            try:
                payment = await gateway.capture(payment_id, stored.amount_paise, stored.currency)
            except PaymentGatewayError:
                # A concurrent verify may have captured it first; what Razorpay now holds decides.
                payment = await gateway.fetch_payment(payment_id)
    except PaymentGatewayError as exc:
        raise ApiError(502, UNCONFIRMED) from exc
    if payment.get("order_id") != stored.razorpay_order_id:
        raise bad_request(BAD_SIGNATURE, "razorpay_signature")
    status = payment.get("status")
    if status == "refunded" and stored.status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
        return payment  # ours, refunded since (a duplicate): verify again just reports it
    if status != "captured":
        raise conflict(NOT_CAPTURED)
    return payment


async def _verified(request: web.Request, identity: Identity, settled: Settlement, payment_id: str,
                    refund_reason: str = LATE_NO_SEAT) -> web.Response:
    # The settlement read what the answer needs in its own transaction: verify opens two database sessions.
    assert settled.payment is not None and settled.booking is not None
    assert settled.learner is not None and settled.view is not None
    body = _answer(request.app, identity, settled.booking, settled.learner, settled.view, settled.payment)
    payment = body["payment"]
    if payment["payment_id"] != payment_id:
        raise conflict("This order was paid by another payment.")
    if body["booking"]["status"] == BookingStatus.CONFIRMED:
        if payment["refund_status"] is not None:
            body["notice"] = DUPLICATE
        return web.json_response(body)
    if payment["refund_status"] is not None:
        raise ApiError(409, refund_reason, refund=True, booking=body["booking"], payment=payment)
    raise conflict("Your payment was received but the booking could not be confirmed. Please contact support.")


@routes.post("/api/payments/failed")
async def failed(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    data = await json_object(request)
    order_id = _text(data, "razorpay_order_id")
    _stored, booking = await _own_payment(request, identity, order_id)
    error = data.get("error")
    description = error.get("description") if isinstance(error, dict) else None
    if data.get("reason") == "dismissed":
        reason = DISMISSED
    elif isinstance(description, str) and description.strip():
        reason = description.strip()[:500]
    else:
        reason = FAILED
    settled = await retry_transaction(lambda: release_payment(request.app, order_id, reason))
    assert booking.id is not None
    body = await _body(request, identity, booking.id, settled.payment.id if settled.payment else None)
    body["released"] = settled.booking is not None
    return web.json_response(body)


@routes.post("/api/payments/checkout")
async def resume_checkout(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.LEARNER)
    data = await json_object(request)
    session_id = data.get("session_id")
    if not isinstance(session_id, int) or isinstance(session_id, bool):
        raise bad_request("session_id is required.", "session_id")
    if v.row_id(session_id) is None:
        raise not_found("No such session.")
    async with request.app[DB].session() as s:
        session = await s.get(MentorSession, session_id)
        learner = await s.get(User, identity.user_id)
    if session is None or learner is None:
        raise not_found("No such session.")
    request.app[PAYMENTS].learn_address(request)
    held = await PaidBookings(request.app).current_hold(session, learner)
    if held is None:
        raise not_found("You have no seat held for this session: book it again.")
    booking, payment = held
    assert booking.id is not None
    body = await _body(request, identity, booking.id, None)
    body["checkout"] = checkout_json(request.app[PAYMENTS], session, learner, booking, payment)
    return web.json_response(body)


@routes.get("/api/payments/earnings")
async def earnings(request: web.Request) -> web.Response:
    identity = await require_identity(request, Role.MENTOR)
    async with request.app[DB].session() as s:
        return web.json_response(await mentor_earnings(s, identity.user_id))


@routes.post(WEBHOOK_PATH)
@csrf_exempt  # Authenticated by Razorpay's signature alone: it carries no cookie.
async def webhook(request: web.Request) -> web.Response:
    status, reply = await record_webhook(request.app, await request.read(), request.headers)
    return web.json_response(reply, status=status)
