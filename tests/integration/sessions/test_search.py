"""Search and filters on Browse (`GET /api/sessions?tab=scheduled&q=…`): the same answers on SQLite (FTS5)
and PostgreSQL (full-text), since every test runs on both databases with the same expectations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import update

from models.tables import User
from tests.integration.sessions.helpers import People, create_session, me
from tests.support.api import ApiClient
from web.keys import DB
from web.sessions.search import PAGE_SIZE


async def found(api: ApiClient, **query: Any) -> list[str]:
    body: dict[str, Any] = await api.json("GET", "/api/sessions?" + urlencode({"tab": "scheduled", **query}), 200)
    return [s["title"] for s in body["sessions"]]


async def catalogue(people: People) -> None:
    await create_session(people.mentor, title="Designing resilient APIs", domain_tags=["system design"],
                         description="Timeouts, retries and idempotency keys.", start_at="2030-01-02T10:00:00Z")
    await create_session(people.mentor, title="Python packaging", domain_tags=["python"], price_paise=49900,
                         description="Wheels, sdists and lock files.", start_at="2030-01-03T10:00:00Z")
    await create_session(people.other_mentor, title="Ownership in Rust", domain_tags=["rust"], price_paise=99900,
                         description="Borrowing without tears.", start_at="2030-01-04T10:00:00Z")
    await create_session(people.other_mentor, title="Mock interview: data", domain_tags=["interview prep"],
                         description="Résumé review and a live SQL question.", start_at="2030-01-05T10:00:00Z",
                         capacity=1)


async def test_text_matches_title_description_tags_and_mentor_by_word_prefix(people: People) -> None:
    await catalogue(people)
    assert await found(people.anonymous, q="python") == ["Python packaging"]
    assert await found(people.anonymous, q="idempot") == ["Designing resilient APIs"], "a prefix of a word"
    assert await found(people.anonymous, q="SYSTEM design") == ["Designing resilient APIs"], "tags, any case"
    assert await found(people.anonymous, q="omar") == ["Ownership in Rust", "Mock interview: data"], "mentor"
    assert await found(people.anonymous, q="omar rust") == ["Ownership in Rust"], "every word must match"
    assert await found(people.anonymous, q="résumé") == ["Mock interview: data"], "accents are kept"
    assert await found(people.anonymous, q="nothing-like-this") == []
    assert await found(people.anonymous, q="'\" OR 1=1 --") == [], "punctuation is not query syntax"
    assert len(await found(people.anonymous, q="")) == 4


async def test_index_follows_edits_and_a_mentor_renaming(people: People) -> None:
    await catalogue(people)
    rust = (await people.other_mentor.json("GET", "/api/sessions/mine?tab=upcoming", 200))["sessions"][0]
    await people.other_mentor.json("PATCH", f"/api/sessions/{rust['id']}", 200,
                                   json={"title": "Fearless concurrency", "domain_tags": ["rust", "concurrency"]})
    assert await found(people.anonymous, q="ownership") == []
    assert await found(people.anonymous, q="fearless concurrency") == ["Fearless concurrency"]
    omar = await me(people.other_mentor)
    async with people.mentor.app[DB].session() as s:
        await s.execute(update(User).where(User.id == omar["id"]).values(name="Olu Renamed"))  # type: ignore[arg-type]
        await s.commit()
    assert await found(people.anonymous, q="olu") == ["Fearless concurrency", "Mock interview: data"]
    assert await found(people.anonymous, q="omar") == []


async def test_filters_domain_price_dates_and_seats(people: People) -> None:
    await catalogue(people)
    everyone = people.anonymous
    assert await found(everyone, domain="Python") == ["Python packaging"]
    assert await found(everyone, price="free") == ["Designing resilient APIs", "Mock interview: data"]
    assert await found(everyone, price="paid") == ["Python packaging", "Ownership in Rust"]
    assert await found(everyone, max_price_paise="50000") == [
        "Designing resilient APIs", "Python packaging", "Mock interview: data"]
    assert await found(everyone, price="paid", max_price_paise="50000") == ["Python packaging"]
    assert await found(everyone, **{"from": "2030-01-03", "to": "2030-01-04"}) == [
        "Python packaging", "Ownership in Rust"], "a date range takes whole days"
    assert await found(everyone, **{"from": "2030-01-03T12:00:00Z"}) == ["Ownership in Rust", "Mock interview: data"]
    interview = (await people.other_mentor.json("GET", "/api/sessions/mine?tab=upcoming", 200))["sessions"][1]
    await people.learner.json("POST", f"/api/sessions/{interview['id']}/bookings", 201)
    assert "Mock interview: data" not in await found(everyone, has_seats="1")
    assert await found(everyone, q="interview", has_seats="0") == ["Mock interview: data"]
    assert await found(everyone, q="api", price="free", domain="system design", has_seats="1") == [
        "Designing resilient APIs"]


async def test_results_come_in_pages(people: People) -> None:
    for day in range(1, PAGE_SIZE + 4):
        await create_session(people.mentor, title=f"Office hours {day:02d}", start_at=f"2030-02-{day:02d}T10:00:00Z")
    first = await people.anonymous.json("GET", "/api/sessions?tab=scheduled&q=office", 200)
    assert (first["total"], first["page"], first["has_more"]) == (PAGE_SIZE + 3, 1, True)
    assert len(first["sessions"]) == PAGE_SIZE
    second = await people.anonymous.json("GET", "/api/sessions?tab=scheduled&q=office&page=2", 200)
    assert [s["title"] for s in second["sessions"]] == ["Office hours 25", "Office hours 26", "Office hours 27"]
    assert second["has_more"] is False


async def test_unreadable_filters_are_refused_with_the_parameter_named(people: People) -> None:
    for query, field in [("price=cheap", "price"), ("max_price_paise=-1", "max_price_paise"),
                         ("from=yesterday", "from"), ("from=2030-01-05&to=2030-01-01", "to"), ("page=0", "page")]:
        body = await people.anonymous.json("GET", f"/api/sessions?tab=scheduled&{query}", 400)
        assert body["field"] == field, query

