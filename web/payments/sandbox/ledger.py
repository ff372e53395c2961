"""The sandbox's state and its rules: validation and state transitions, no I/O.

Every method runs to completion without awaiting, so on one event loop each
transition is atomic; the sandbox layer above adds webhooks and HTTP.
Error texts follow Razorpay's API so the platform shows what it would in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.clock import Clock
from web.payments.sandbox.entities import Order, Payment, PaymentError, Refund
from web.payments.sandbox.ids import new_id

MIN_AMOUNT = 100
MAX_RECEIPT_LENGTH = 40
MAX_NOTES = 15
MAX_NOTE_LENGTH = 256
CURRENCIES = frozenset({"INR", "USD", "EUR", "GBP", "SGD", "AED", "AUD", "CAD", "MYR"})
ORDER_FIELDS = frozenset({"amount", "currency", "receipt", "notes", "payment_capture", "partial_payment"})
REFUND_FIELDS = frozenset({"amount", "notes", "receipt", "speed"})
CAPTURE_FIELDS = frozenset({"amount", "currency"})
PAYMENT_METHODS = frozenset({"card", "upi", "netbanking", "wallet"})


class SandboxError(Exception):
    """A request Razorpay would refuse; rendered as its error body with this HTTP status."""

    def __init__(self, description: str, *, status: int = 400, field: str | None = None,
                 code: str = "BAD_REQUEST_ERROR") -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.field = field
        self.code = code

    def to_api(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "description": self.description,
            "source": "business" if self.status == 400 else "NA",
            "step": "payment_initiation" if self.status == 400 else "NA",
            "reason": "input_validation_failed" if self.status == 400 else "NA",
            "metadata": {},
        }
        if self.field:
            error["field"] = self.field
        return {"error": error}


def _reject_unknown(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise SandboxError(f"{', '.join(extra)} is/are not required and should not be sent",
                           field=extra[0])


def _integer(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if value is None or value == "":
        raise SandboxError(f"The {name} field is required.", field=name)
    # JSON true is an int to Python but never an amount to Razorpay.
    if isinstance(value, bool):
        raise SandboxError(f"The {name} must be an integer.", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise SandboxError(f"The {name} must be an integer.", field=name)


def _optional_text(data: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise SandboxError(f"The {name} must be a string.", field=name)
    text = str(value)
    if len(text) > limit:
        raise SandboxError(f"The {name} may not be greater than {limit} characters.", field=name)
    return text


def _notes(data: Mapping[str, Any]) -> dict[str, str]:
    raw = data.get("notes")
    if raw is None or raw == []:
        return {}
    if not isinstance(raw, Mapping):
        raise SandboxError("The notes must be an array.", field="notes")
    if len(raw) > MAX_NOTES:
        raise SandboxError(f"Number of fields in notes should be less than or equal to {MAX_NOTES}",
                           field="notes")
    notes: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping | list):
            raise SandboxError("The notes must contain only string values.", field="notes")
        text = "" if value is None else str(value)
        if len(text) > MAX_NOTE_LENGTH:
            raise SandboxError(f"The notes.{key} may not be greater than {MAX_NOTE_LENGTH} characters.",
                               field="notes")
        notes[str(key)] = text
    return notes


def _flag(data: Mapping[str, Any], name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None:
        return default
    if value in (True, 1, "1", "true"):
        return True
    if value in (False, 0, "0", "false"):
        return False
    raise SandboxError(f"The {name} field is invalid.", field=name)


class Ledger:
    """Orders, payments and refunds in memory, keyed by id."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.orders: dict[str, Order] = {}
        self.payments: dict[str, Payment] = {}
        self.refunds: dict[str, Refund] = {}
        self._taken: set[str] = set()

    def _timestamp(self) -> int:
        return int(self._clock.now().timestamp())

    def _new_id(self, prefix: str) -> str:
        entity_id = new_id(prefix, self._taken)
        self._taken.add(entity_id)
        return entity_id

    # orders

    def create_order(self, data: Mapping[str, Any]) -> Order:
        _reject_unknown(data, ORDER_FIELDS)
        amount = _integer(data, "amount")
        currency = data.get("currency")
        if currency is None or currency == "":
            raise SandboxError("The currency field is required.", field="currency")
        if currency not in CURRENCIES:
            raise SandboxError("The selected currency is invalid.", field="currency")
        if amount < MIN_AMOUNT:
            raise SandboxError("Order amount less than minimum amount allowed", field="amount")
        order = Order(
            id=self._new_id("order"),
            amount=amount,
            currency=str(currency),
            receipt=_optional_text(data, "receipt", MAX_RECEIPT_LENGTH),
            notes=_notes(data),
            created_at=self._timestamp(),
            payment_capture=_flag(data, "payment_capture", True),
        )
        self.orders[order.id] = order
        return order

    def order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise SandboxError("The id provided does not exist")
        return order

    def order_payments(self, order_id: str) -> list[Payment]:
        self.order(order_id)
        return [payment for payment in self.payments.values() if payment.order_id == order_id]

    # payments

    def payment(self, payment_id: str) -> Payment:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise SandboxError("The id provided does not exist")
        return payment

    def start_payment(self, order_id: str, *, method: str, email: str, contact: str,
                      description: str | None) -> Payment:
        """A new attempt on the order, left in "created" for authorize or fail to finish."""
        order = self.order(order_id)
        if order.status == "paid":
            raise SandboxError("Order has already been paid", field="order_id")
        # Razorpay refuses a second attempt while an authorized one waits for capture.
        if any(p.status == "authorized" for p in self.order_payments(order_id)):
            raise SandboxError("Payment is already authorized for this order", field="order_id")
        if method not in PAYMENT_METHODS:
            raise SandboxError("Invalid payment method", field="method")
        payment = Payment(
            id=self._new_id("pay"),
            order_id=order.id,
            amount=order.amount,
            currency=order.currency,
            method=method,
            email=email,
            contact=contact,
            description=description,
            notes=dict(order.notes),
            created_at=self._timestamp(),
        )
        self.payments[payment.id] = payment
        order.attempts += 1
        order.status = "attempted"
        return payment

    def authorize(self, payment: Payment) -> None:
        payment.status = "authorized"

    def fail(self, payment: Payment, error: PaymentError) -> None:
        payment.status = "failed"
        payment.error = error

    def capture(self, payment_id: str, data: Mapping[str, Any]) -> Payment:
        _reject_unknown(data, CAPTURE_FIELDS)
        payment = self.payment(payment_id)
        amount = _integer(data, "amount")
        if payment.captured:
            raise SandboxError("This payment has already been captured")
        if payment.status != "authorized":
            raise SandboxError("Only payments which have been authorized and not yet captured can be captured")
        if amount != payment.amount:
            raise SandboxError("Capture amount must be equal to the amount authorized", field="amount")
        currency = data.get("currency")
        if currency is not None and currency != payment.currency:
            raise SandboxError("Currency should be same as payment currency", field="currency")
        self.mark_captured(payment)
        return payment

    def mark_captured(self, payment: Payment) -> Order:
        payment.status = "captured"
        payment.captured = True
        order = self.order(payment.order_id)
        order.status = "paid"
        order.amount_paid = payment.amount
        return order

    # refunds

    def refund(self, payment_id: str, data: Mapping[str, Any]) -> Refund:
        _reject_unknown(data, REFUND_FIELDS)
        payment = self.payment(payment_id)
        if payment.status == "refunded":
            raise SandboxError("The payment has been fully refunded already")
        if payment.status != "captured":
            raise SandboxError("The payment status should be captured for action to be taken")
        remaining = payment.amount - payment.amount_refunded
        amount = remaining if data.get("amount") is None else _integer(data, "amount")
        if amount < MIN_AMOUNT:
            raise SandboxError("The amount must be atleast INR 1.00", field="amount")
        if amount > remaining:
            raise SandboxError("The refund amount provided is greater than amount captured", field="amount")
        speed = data.get("speed", "normal")
        if speed not in ("normal", "optimum"):
            raise SandboxError("The selected speed is invalid.", field="speed")
        refund = Refund(
            id=self._new_id("rfnd"),
            payment_id=payment.id,
            amount=amount,
            currency=payment.currency,
            receipt=_optional_text(data, "receipt", MAX_RECEIPT_LENGTH),
            notes=_notes(data),
            created_at=self._timestamp(),
            speed_requested=str(speed),
        )
        # Razorpay counts a refund against the payment when it is created, not when it settles.
        payment.amount_refunded += amount
        if payment.amount_refunded == payment.amount:
            payment.status = "refunded"
        self.refunds[refund.id] = refund
        return refund

    def refund_entity(self, refund_id: str) -> Refund:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise SandboxError("The id provided does not exist")
        return refund

    def settle_refund(self, refund_id: str, *, succeed: bool) -> Refund:
        refund = self.refund_entity(refund_id)
        if refund.status != "pending":
            raise SandboxError(f"Refund is already {refund.status}")
        if succeed:
            refund.status = "processed"
            refund.acquirer_data = {"arn": f"ARN{refund.id[-10:].upper()}"}
            return refund
        refund.status = "failed"
        # A failed refund gives the money back to the merchant's side of the payment.
        payment = self.payment(refund.payment_id)
        payment.amount_refunded -= refund.amount
        payment.status = "captured"
        return refund
