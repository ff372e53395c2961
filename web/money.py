"""Money is integer paise everywhere; rupees appear only as display text (session prices, payments, earnings)."""

from __future__ import annotations


def price_display(paise: int) -> str:
    """A session's price tag: "Free", or ₹ with two decimals and Indian digit grouping."""
    if paise == 0:
        return "Free"
    rupees, rest = divmod(paise, 100)
    return f"₹{_indian_grouping(rupees)}.{rest:02d}"


def inr(paise: int) -> str:
    """₹ with two decimals and Indian digit grouping; zero is ₹0.00 here, not the price tag "Free"."""
    return "₹0.00" if paise == 0 else price_display(paise)


def _indian_grouping(rupees: int) -> str:
    # Indian digit grouping: the last three digits, then pairs (1,23,45,678).
    digits = str(rupees)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])
