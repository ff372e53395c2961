"""Identifiers shaped like Razorpay's: a prefix, an underscore and 14 base62 characters."""

from __future__ import annotations

import secrets
import string
from collections.abc import Container

_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 14


def new_id(prefix: str, taken: Container[str] = ()) -> str:
    # 62**14 makes a collision practically impossible; checking `taken` makes it impossible.
    while True:
        candidate = f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(_ID_LENGTH))}"
        if candidate not in taken:
            return candidate
