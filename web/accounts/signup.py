"""The signup wizards: which fields each step asks, and the server's check of each step."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web.errors import bad_request
from web.http import fields as v

EXPERIENCE_LEVELS = ("beginner", "intermediate", "advanced")
PAYOUT_METHODS = ("upi", "bank")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    check: Callable[[dict[str, Any]], dict[str, Any]]


def _account(data: dict[str, Any]) -> dict[str, Any]:
    fields = _identity(data)
    fields["password"] = v.password(data, email_value=fields["email"])
    return fields


def _identity(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": v.text(data, "name", min_len=2, max_len=120), "email": v.email(data)}


def _learner_profile(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "headline": v.text(data, "headline", required=False, max_len=160),
        "experience_level": v.choice(data, "experience_level", EXPERIENCE_LEVELS, default="beginner"),
        "timezone": v.timezone(data),
    }


def _interests(data: dict[str, Any]) -> dict[str, Any]:
    return {"interests": v.tags(data, "interests")}


def _goals(data: dict[str, Any]) -> dict[str, Any]:
    goals = v.text(data, "goals", required=False, max_len=2000)
    v.accepted(data, "accept_terms")
    return {"goals": goals}


def _mentor_profile(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "headline": v.text(data, "headline", min_len=3, max_len=160),
        "bio": v.text(data, "bio", min_len=20, max_len=4000),
        "years_experience": v.integer(data, "years_experience", low=0, high=60),
        "timezone": v.timezone(data),
    }


def _expertise(data: dict[str, Any]) -> dict[str, Any]:
    return {"expertise": v.tags(data, "expertise")}


def _defaults(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "default_duration_minutes": v.integer(data, "default_duration_minutes", low=15, high=240, default=60),
        # Money is integer paise end to end; the page converts rupees before sending.
        "default_price_paise": v.integer(data, "default_price_paise", low=0, high=10_000_000, default=0),
    }


def _payout(data: dict[str, Any]) -> dict[str, Any]:
    method = v.choice(data, "payout_method", PAYOUT_METHODS, default="upi")
    account = v.text(data, "payout_account", min_len=3, max_len=60)
    if method == "upi" and not re.match(r"^[\w.\-]{2,}@[A-Za-z]{2,}$", account):
        raise bad_request("Enter a UPI id like name@bank.", "payout_account")
    if method == "bank" and not re.fullmatch(r"[0-9]{9,18}", account):
        raise bad_request("A bank account number has 9 to 18 digits.", "payout_account")
    v.accepted(data, "accept_terms")
    return {"payout_method": method, "payout_account_masked": mask(account)}


def mask(account: str) -> str:
    return "•" * max(0, len(account) - 4) + account[-4:]


LEARNER_STEPS = (
    Step("account", "Account", _account),
    Step("profile", "Profile", _learner_profile),
    Step("interests", "Interests", _interests),
    Step("goals", "Goals & confirm", _goals),
)
MENTOR_STEPS = (
    Step("account", "Account", _account),
    Step("profile", "Profile", _mentor_profile),
    Step("expertise", "Expertise", _expertise),
    Step("defaults", "Session defaults & pricing", _defaults),
    Step("payout", "Payout & confirm", _payout),
)
WIZARDS = {"learner": LEARNER_STEPS, "mentor": MENTOR_STEPS}


def steps_for(role: Any) -> tuple[Step, ...]:
    if not isinstance(role, str) or role not in WIZARDS:
        raise bad_request("Choose whether you sign up as a learner or a mentor.", "role")
    return WIZARDS[role]


def check_step(role: Any, index: Any, data: dict[str, Any]) -> dict[str, Any]:
    steps = steps_for(role)
    if not isinstance(index, int) or not 0 <= index < len(steps):
        raise bad_request(f"Step must be between 1 and {len(steps)}.", "step")
    return steps[index].check(data)


def check_all(role: Any, data: dict[str, Any], *, password_checked: bool = False) -> dict[str, Any]:
    """Every step at once; `password_checked` when step 1 already validated and hashed it."""
    cleaned: dict[str, Any] = {}
    for step in steps_for(role):
        check = _identity if password_checked and step.check is _account else step.check
        cleaned.update(check(data))
    return cleaned
