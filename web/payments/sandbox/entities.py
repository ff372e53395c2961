"""The sandbox's orders, payments and refunds, rendered the way Razorpay's API renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def render_notes(notes: dict[str, str]) -> dict[str, str] | list[Any]:
    # Razorpay's API (PHP underneath) serialises empty notes as [] rather than {}:
    # callers that index notes must cope with both, so the sandbox reproduces it.
    return dict(notes) if notes else []


@dataclass
class Order:
    id: str
    amount: int
    currency: str
    receipt: str | None
    notes: dict[str, str]
    created_at: int
    payment_capture: bool = True
    status: str = "created"
    attempts: int = 0
    amount_paid: int = 0

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity": "order",
            "amount": self.amount,
            "amount_paid": self.amount_paid,
            "amount_due": self.amount - self.amount_paid,
            "currency": self.currency,
            "receipt": self.receipt,
            "offer_id": None,
            "status": self.status,
            "attempts": self.attempts,
            "notes": render_notes(self.notes),
            "created_at": self.created_at,
        }


@dataclass
class PaymentError:
    code: str
    description: str
    source: str
    step: str
    reason: str


@dataclass
class Payment:
    id: str
    order_id: str
    amount: int
    currency: str
    method: str
    email: str
    contact: str
    description: str | None
    notes: dict[str, str]
    created_at: int
    status: str = "created"
    captured: bool = False
    amount_refunded: int = 0
    error: PaymentError | None = None

    @property
    def refund_status(self) -> str | None:
        if self.amount_refunded == 0:
            return None
        return "full" if self.amount_refunded >= self.amount else "partial"

    def to_api(self) -> dict[str, Any]:
        # Razorpay's fee is about 2% plus 18% GST on it, both in paise and known only once captured.
        fee = round(self.amount * 0.0236) if self.captured else None
        tax = round(self.amount * 0.0036) if self.captured else None
        error = self.error
        return {
            "id": self.id,
            "entity": "payment",
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "order_id": self.order_id,
            "invoice_id": None,
            "international": False,
            "method": self.method,
            "amount_refunded": self.amount_refunded,
            "refund_status": self.refund_status,
            "captured": self.captured,
            "description": self.description,
            "card_id": None,
            "bank": "HDFC" if self.method == "netbanking" else None,
            "wallet": None,
            "vpa": "success@razorpay" if self.method == "upi" else None,
            "email": self.email,
            "contact": self.contact,
            "notes": render_notes(self.notes),
            "fee": fee,
            "tax": tax,
            "error_code": error.code if error else None,
            "error_description": error.description if error else None,
            "error_source": error.source if error else None,
            "error_step": error.step if error else None,
            "error_reason": error.reason if error else None,
            "acquirer_data": {},
            "created_at": self.created_at,
        }


@dataclass
class Refund:
    id: str
    payment_id: str
    amount: int
    currency: str
    receipt: str | None
    notes: dict[str, str]
    created_at: int
    speed_requested: str = "normal"
    status: str = "pending"
    acquirer_data: dict[str, Any] = field(default_factory=lambda: {"arn": None})

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity": "refund",
            "amount": self.amount,
            "currency": self.currency,
            "payment_id": self.payment_id,
            "notes": render_notes(self.notes),
            "receipt": self.receipt,
            "acquirer_data": dict(self.acquirer_data),
            "created_at": self.created_at,
            "batch_id": None,
            "status": self.status,
            "speed_processed": "normal" if self.status == "processed" else None,
            "speed_requested": self.speed_requested,
        }
