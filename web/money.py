"""Money is integer paise everywhere; rupees appear only as display text."""

from __future__ import annotations

from web.sessions.schemas import price_display


def inr(paise: int) -> str:
    """₹ with two decimals and Indian digit grouping; zero is ₹0.00 here, not the price tag "Free"."""
    return "₹0.00" if paise == 0 else price_display(paise)
