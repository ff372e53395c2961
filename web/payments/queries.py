"""A mentor's takings per paid session, in integer paise with ₹ display strings.

Gross counts every payment Razorpay captured; refunded counts those refunded or on their way back
(a queued or pending refund is money the mentor will not keep); net is the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import iso_utc
from models.enums import PaymentStatus
from models.tables import Booking, MentorSession, Payment
from web.money import inr
from web.payments.refunds import FAILED, refund_amount

TAKEN = (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED)


@dataclass
class SessionEarnings:
    session: MentorSession
    paid_bookings: int = 0
    gross_paise: int = 0
    refunded_paise: int = 0

    @property
    def net_paise(self) -> int:
        return self.gross_paise - self.refunded_paise

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session.id,
            "title": self.session.title,
            "start_at": iso_utc(self.session.start_at),
            "status": self.session.status,
            "currency": self.session.currency,
            "paid_bookings": self.paid_bookings,
            "gross_paise": self.gross_paise,
            "refunded_paise": self.refunded_paise,
            "net_paise": self.net_paise,
            "display": {"gross": inr(self.gross_paise), "refunded": inr(self.refunded_paise),
                        "net": inr(self.net_paise)},
        }


def _is_refunded(payment: Payment) -> bool:
    return payment.status == PaymentStatus.REFUNDED or payment.refund_status not in (None, FAILED)


async def mentor_earnings(s: AsyncSession, mentor_id: int) -> dict[str, Any]:
    sessions = list((await s.exec(
        select(MentorSession)
        .where(col(MentorSession.mentor_id) == mentor_id, col(MentorSession.price_paise) > 0)
        .order_by(col(MentorSession.start_at).desc(), col(MentorSession.id).desc())
    )).all())
    rows = {row.id: SessionEarnings(row) for row in sessions}
    payments = (await s.exec(
        select(Booking.session_id, Payment)  # type: ignore[call-overload]
        .join(Booking, col(Booking.id) == col(Payment.booking_id))
        .where(col(Booking.session_id).in_(list(rows)), col(Payment.status).in_(TAKEN))
    )).all()
    for session_id, payment in payments:
        entry = rows[session_id]
        entry.gross_paise += payment.amount_paise
        if _is_refunded(payment):
            entry.refunded_paise += refund_amount(payment)
        else:
            entry.paid_bookings += 1
    items = [entry.to_json() for entry in rows.values()]
    totals = {name: sum(item[name] for item in items) for name in ("gross_paise", "refunded_paise", "net_paise")}
    return {
        "sessions": items,
        "totals": {**totals, "display": {"gross": inr(totals["gross_paise"]),
                                         "refunded": inr(totals["refunded_paise"]), "net": inr(totals["net_paise"])}},
    }
