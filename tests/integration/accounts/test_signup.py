"""Signup through the API: validation per field, conflicts, nothing half-made, sign-in on success."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from models.clock import ManualClock
from models.tables import LearnerProfile, MentorProfile, User
from tests.support.api import LEARNER_FIELDS, MENTOR_FIELDS, ApiClient, sign_up
from web.keys import CLOCK, CONFIG, DB


async def count(api: ApiClient, model: Any) -> int:
    async with api.app[DB].session() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


async def test_learner_signup_creates_profile_signs_in_and_routes(api: ApiClient) -> None:
    body = await sign_up(api, "learner", "lena@example.com")
    assert body["redirect"] == "/dashboard/learner"
    assert body["user"]["role"] == "learner"
    me = await api.json("GET", "/api/me", 200)
    assert me["email"] == "lena@example.com"
    assert me["profile"]["interests"] == ["python", "system design"]
    page = await api.get("/dashboard/learner")
    assert page.status == 200
    assert "Hi Lena Learner" in await page.text()


async def test_mentor_signup_stores_masked_payout_and_paise(api: ApiClient) -> None:
    body = await sign_up(api, "mentor", "maya@example.com", default_price_paise=49900, payout_account="maya@okbank")
    assert body["redirect"] == "/dashboard/mentor"
    me = await api.json("GET", "/api/me", 200)
    assert me["profile"]["default_price_paise"] == 49900
    assert me["profile"]["payout_account_masked"].endswith("bank")
    assert "maya@" not in me["profile"]["payout_account_masked"]


async def test_taken_email_is_409_and_leaves_nothing_behind(api: ApiClient) -> None:
    await sign_up(api, "learner", "dup@example.com")
    users_before = await count(api, User)
    response = await api.post("/api/auth/signup", json={**MENTOR_FIELDS, "email": "DUP@example.com"})
    assert response.status == 409
    assert (await response.json())["field"] == "email"
    assert await count(api, User) == users_before
    assert await count(api, MentorProfile) == 0


async def test_each_bad_field_is_named(api: ApiClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short1"}, "password"),
        ({"password": "onlyletters"}, "password"),
        ({"name": ""}, "name"),
        ({"interests": []}, "interests"),
        ({"accept_terms": False}, "accept_terms"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ]
    for change, field in cases:
        response = await api.post("/api/auth/signup", json={**LEARNER_FIELDS, "email": "x@example.com", **change})
        body = await response.json()
        assert response.status == 400, (change, body)
        assert body["field"] == field, (change, body)
        assert body["error"]
    assert await count(api, User) == 0
    assert await count(api, LearnerProfile) == 0


async def test_missing_role_and_non_json_are_400(api: ApiClient) -> None:
    response = await api.post("/api/auth/signup", json={**LEARNER_FIELDS, "role": "admin", "email": "a@example.com"})
    assert response.status == 400
    assert (await response.json())["field"] == "role"
    response = await api.post("/api/auth/signup", data=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "JSON" in (await response.json())["error"]


async def test_wizard_steps_are_checked_one_at_a_time(api: ApiClient) -> None:
    step1 = {"role": "mentor", "step": 1, "name": "Maya", "email": "maya@example.com", "password": "mentor1234"}
    assert (await api.json("POST", "/api/auth/signup/step", 200, json=step1))["next_step"] == 2
    bad2 = {"role": "mentor", "step": 2, "headline": "Eng", "bio": "too short", "years_experience": 3}
    body = await api.json("POST", "/api/auth/signup/step", 400, json=bad2)
    assert body["field"] == "bio"
    last = {"role": "mentor", "step": 5, "payout_method": "bank", "payout_account": "12", "accept_terms": True}
    assert (await api.json("POST", "/api/auth/signup/step", 400, json=last))["field"] == "payout_account"
    assert (await api.json("POST", "/api/auth/signup/step", 400, json={"role": "mentor", "step": 6}))["field"] == "step"


async def test_step_one_answers_the_same_whether_or_not_the_email_has_an_account(api: ApiClient) -> None:
    await sign_up(api, "learner", "taken@example.com")
    await api.post("/api/auth/logout")
    answers = []
    for email in ("taken@example.com", "free@example.com"):
        step1 = {"role": "learner", "step": 1, "name": "Other", "email": email, "password": "abcd12345"}
        answers.append(await api.json("POST", "/api/auth/signup/step", 200, json=step1))
    assert answers[0] == answers[1] == {"ok": True, "step": 1, "next_step": 2}
    # The taken email is refused at the final step, naming the field so the wizard goes back to it.
    final = {**LEARNER_FIELDS, "name": "Other", "email": "taken@example.com"}
    body = await api.json("POST", "/api/auth/signup", 409, json=final)
    assert body["field"] == "email" and "already exists" in body["error"]


async def test_step_one_is_budgeted_per_address(api: ApiClient) -> None:
    budget = api.app[CONFIG].int("auth", "signup_checks_per_address")
    for i in range(budget):
        step1 = {"role": "learner", "step": 1, "name": "Probe", "email": f"p{i}@example.com", "password": "abcd12345"}
        await api.json("POST", "/api/auth/signup/step", 200, json=step1)
    step1 = {"role": "learner", "step": 1, "name": "Probe", "email": "last@example.com", "password": "abcd12345"}
    refused = await api.json("POST", "/api/auth/signup/step", 429, json=step1)
    assert "Too many sign-up attempts" in refused["error"] and refused["retry_after"] > 0
    clock = api.app[CLOCK]
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=refused["retry_after"]))
    await api.json("POST", "/api/auth/signup/step", 200, json=step1)


async def test_finishing_after_a_reload_uses_the_password_kept_from_step_one(api: ApiClient) -> None:
    """The page drops the password on reload; the hash waits in the encrypted session."""
    step1 = {"role": "learner", "step": 1, "name": "Rel Oad", "email": "reload@example.com", "password": "reload123"}
    await api.json("POST", "/api/auth/signup/step", 200, json=step1)
    final = {k: v for k, v in LEARNER_FIELDS.items() if k != "password"}
    await api.json("POST", "/api/auth/signup", 201, json={**final, "name": "Rel Oad", "email": "reload@example.com"})
    await api.post("/api/auth/logout")
    credentials = {"email": "reload@example.com", "password": "reload123"}
    login = await api.json("POST", "/api/auth/login", 200, json=credentials)
    assert login["redirect"] == "/dashboard/learner"


async def test_signup_returns_to_the_action_that_asked(api: ApiClient) -> None:
    body = await sign_up(api, "learner", "cta@example.com", next="/dashboard/learner?book=7")
    assert body["redirect"] == "/dashboard/learner?book=7"


async def test_next_never_leaves_the_site_or_enters_another_role(api: ApiClient) -> None:
    body = await sign_up(api, "learner", "evil@example.com", next="//evil.example/steal")
    assert body["redirect"] == "/dashboard/learner"
    other = await sign_up(api, "mentor", "m2@example.com", next="/dashboard/learner?book=1")
    assert other["redirect"] == "/dashboard/mentor"
