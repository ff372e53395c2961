"""What must hold between seats, bookings and payments whatever order events arrived in."""

from __future__ import annotations

from collections import defaultdict

from aiohttp import web
from sqlmodel import select

from models.enums import BookingStatus, PaymentStatus
from models.rules import HOLDING_SEAT
from models.tables import Booking, MentorSession, Payment
from web.keys import DB


async def money_problems(app: web.Application) -> list[str]:
    """Every broken invariant, as text (empty when the books balance).

    - seats_taken equals the bookings holding a seat, per session;
    - a confirmed booking of a paid session has exactly one captured payment being kept (no refund);
    - a captured payment is either the one that confirms its booking or on its way back (refund queued);
    - a pending booking has no captured payment.
    """
    problems: list[str] = []
    async with app[DB].session() as s:
        sessions = list((await s.exec(select(MentorSession))).all())
        bookings = list((await s.exec(select(Booking))).all())
        payments = list((await s.exec(select(Payment))).all())
    by_booking: dict[int, list[Payment]] = defaultdict(list)
    for payment in payments:
        by_booking[payment.booking_id].append(payment)
    price = {row.id: row.price_paise for row in sessions}
    for row in sessions:
        holding = sum(1 for b in bookings if b.session_id == row.id and b.status in HOLDING_SEAT)
        if row.seats_taken != holding:
            problems.append(f"session {row.id}: seats_taken {row.seats_taken} but {holding} bookings hold seats")
    for booking in bookings:
        kept = [p for p in by_booking[booking.id or 0]
                if p.status == PaymentStatus.CAPTURED and p.refund_status is None]
        if booking.status == BookingStatus.CONFIRMED and price[booking.session_id] > 0 and len(kept) != 1:
            problems.append(f"booking {booking.id} confirmed with {len(kept)} kept captured payments")
        if booking.status != BookingStatus.CONFIRMED and kept:
            problems.append(f"booking {booking.id} is {booking.status} but keeps captured payment(s) "
                            f"{[p.razorpay_payment_id for p in kept]}")
    return problems


async def assert_books_balance(app: web.Application) -> None:
    problems = await money_problems(app)
    assert not problems, "\n".join(problems)
