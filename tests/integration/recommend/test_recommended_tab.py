"""The Recommended tab: bookable sessions only, logged impressions and interactions, a model that is
picked up without a restart, cold learners, and the reason on each card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from models.clock import ManualClock
from models.tables import LearnerProfile, RecEvent
from tests.integration.sessions.helpers import People, create_session, me
from tests.support.api import ApiClient, sign_up
from web.keys import CONFIG, DB
from web.recommend.service import SIGNALS, train_and_store

TAB = "/api/sessions?tab=recommended"


async def tab(api: ApiClient) -> list[dict[str, Any]]:
    body: dict[str, Any] = await api.json("GET", TAB, 200)
    return list(body["sessions"])


async def logged(api: ApiClient, kind: str) -> list[RecEvent]:
    await api.app[SIGNALS].flush()
    async with api.app[DB].session() as s:
        return list((await s.exec(select(RecEvent).where(RecEvent.kind == kind).order_by(col(RecEvent.id)))).all())


async def train(api: ApiClient, clock: ManualClock) -> str:
    model = await train_and_store(api.app[CONFIG], api.app[DB], clock.now())
    return model.version


async def test_the_tab_never_lists_full_past_or_booked_sessions(people: People, clock: ManualClock) -> None:
    await create_session(people.mentor, title="Open", domain_tags=["python"], start_at="2030-01-01T12:00:00Z")
    full = await create_session(people.other_mentor, title="Full", domain_tags=["python"], capacity=1,
                                start_at="2030-01-01T12:00:00Z")
    await people.second_learner.json("POST", f"/api/sessions/{full['id']}/bookings", 201)
    booked = await create_session(people.mentor, title="Booked", domain_tags=["python"])
    await people.learner.json("POST", f"/api/sessions/{booked['id']}/bookings", 201)
    await create_session(people.mentor, title="Soon past", domain_tags=["python"], start_at="2030-01-01T09:30:00Z")
    # A session at 03:00 in Lena's timezone (Asia/Kolkata) is outside her hours.
    await create_session(people.mentor, title="Middle of her night", domain_tags=["python"],
                         start_at="2030-01-01T21:30:00Z", duration_minutes=30)
    clock.set(datetime(2030, 1, 1, 9, 45, tzinfo=UTC))
    for _ in range(2):  # before any model, and with one
        assert [s["title"] for s in await tab(people.learner)] == ["Open"]
        await train(people.learner, clock)


async def test_impressions_and_interactions_are_logged_with_position_and_model_version(
        people: People, clock: ManualClock) -> None:
    await create_session(people.mentor, title="Aaa", domain_tags=["python"])
    await create_session(people.other_mentor, title="Bbb", domain_tags=["rust"])
    shown = await tab(people.learner)
    assert [s["recommendation"]["position"] for s in shown] == [0, 1]
    impressions = await logged(people.learner, "impression")
    lena = (await me(people.learner))["id"]
    assert [(e.session_id, e.position, e.model_version, e.tab, e.learner_id) for e in impressions] == [
        (s["id"], i, "tags-v0", "recommended", lena) for i, s in enumerate(shown)]

    version = await train(people.learner, clock)
    shown = await tab(people.learner)
    assert {s["recommendation"]["model_version"] for s in shown} == {version}
    impressions = (await logged(people.learner, "impression"))[2:]
    assert [(e.session_id, e.position, e.model_version, e.mentor_id) for e in impressions] == [
        (s["id"], i, version, s["mentor"]["id"]) for i, s in enumerate(shown)]

    second = shown[1]
    await people.learner.json("POST", "/api/recommend/events", 202, json={
        "kind": "open", "session_id": second["id"], "position": 1, "model_version": version,
        "tab": "recommended", "surface": "learner_dashboard"})
    await people.learner.json("POST", "/api/recommend/events", 202, json={
        "kind": "view", "mentor_id": second["mentor"]["id"], "position": 1, "model_version": version})
    opened, viewed = await logged(people.learner, "open"), await logged(people.learner, "view")
    assert [(e.session_id, e.position, e.model_version, e.learner_id) for e in opened] == [
        (second["id"], 1, version, lena)]
    assert [(e.mentor_id, e.position) for e in viewed] == [(second["mentor"]["id"], 1)]
    assert (await people.mentor.post("/api/recommend/events", json={"kind": "open", "session_id": 1})).status == 403
    body = await people.learner.json("POST", "/api/recommend/events", 400, json={"kind": "stare", "session_id": 1})
    assert body["field"] == "kind"


async def test_a_new_model_is_picked_up_without_a_restart(people: People, clock: ManualClock) -> None:
    await create_session(people.mentor, title="Python", domain_tags=["python"])
    assert {s["recommendation"]["model_version"] for s in await tab(people.learner)} == {"tags-v0"}
    first = await train(people.learner, clock)
    assert {s["recommendation"]["model_version"] for s in await tab(people.learner)} == {first}
    clock.advance(timedelta(minutes=5))
    second = await train(people.learner, clock)
    assert second != first
    assert {s["recommendation"]["model_version"] for s in await tab(people.learner)} == {second}


async def test_bookings_teach_the_model_what_tags_do_not_say(people: People, new_api: Any,
                                                             clock: ManualClock) -> None:
    """Learners who book Maya (python) also book Omar (rust); Lena states python and system design only."""
    await create_session(people.other_mentor, title="Rust ownership", domain_tags=["rust"], capacity=20,
                         start_at="2030-01-01T12:00:00Z")
    chef = await new_api()
    await sign_up(chef, "mentor", "chef@example.com", name="Chef Carl", expertise=["cooking"],
                  bio="Knife skills and baking.")
    await create_session(chef, title="Sourdough", domain_tags=["cooking"], capacity=20,
                         start_at="2030-01-01T12:00:00Z")
    python = await create_session(people.mentor, title="Asyncio", domain_tags=["python"], capacity=20)
    await people.learner.json("POST", f"/api/sessions/{python['id']}/bookings", 201)
    for n in range(6):
        learner = await new_api()
        await sign_up(learner, "learner", f"peer{n}@example.com", interests=["go"])
        await learner.json("POST", f"/api/sessions/{python['id']}/bookings", 201)
        rust = await create_session(people.other_mentor, title=f"Rust {n}", domain_tags=["rust"],
                                    start_at=f"2030-01-0{2 + n % 5}T10:00:00Z")
        await learner.json("POST", f"/api/sessions/{rust['id']}/bookings", 201)
    await train(people.learner, clock)
    shown = await tab(people.learner)
    titles = [s["title"] for s in shown]
    assert titles.index("Rust ownership") < titles.index("Sourdough")
    first_rust = next(s for s in shown if s["mentor"]["name"] == "Omar Other")
    assert first_rust["reason"] == "Popular with learners like you"


async def test_cold_learners_get_a_list_within_their_domains(people: People, new_api: Any,
                                                             clock: ManualClock) -> None:
    chef = await new_api()
    await sign_up(chef, "mentor", "chef@example.com", name="Chef Carl", expertise=["cooking"],
                  bio="Knife skills and baking bread.")
    await create_session(chef, title="Sourdough", domain_tags=["cooking"], capacity=20)
    popular = await create_session(people.other_mentor, title="Rust", domain_tags=["rust"], capacity=20)
    await create_session(people.mentor, title="Python", domain_tags=["python"], capacity=20)
    for n in range(3):
        learner = await new_api()
        await sign_up(learner, "learner", f"peer{n}@example.com", interests=["rust"])
        await learner.json("POST", f"/api/sessions/{popular['id']}/bookings", 201)
    await train(people.learner, clock)
    baker = await new_api()
    await sign_up(baker, "learner", "baker@example.com", interests=["cooking"], goals="")
    shown = await tab(baker)
    assert shown and shown[0]["title"] == "Sourdough"
    assert shown[0]["reason"] == "Because you're into cooking"
    # No interests at all (signup asks for one; a profile can lose them): still a list, the most booked first.
    blank = await new_api()
    await sign_up(blank, "learner", "blank@example.com", interests=["baking"], goals="")
    async with blank.app[DB].session() as s:
        profile = await s.get(LearnerProfile, (await me(blank))["id"])
        assert profile is not None
        profile.interests = []
        s.add(profile)
        await s.commit()
    assert [s["title"] for s in await tab(blank)][:1] == ["Rust"]


async def test_each_card_explains_itself(people: People, clock: ManualClock) -> None:
    await create_session(people.mentor, title="Designing resilient APIs", domain_tags=["system design"])
    cards = await tab(people.learner)
    assert cards[0]["reason"] == "Because you're into system design"
    await train(people.learner, clock)
    cards = await tab(people.learner)
    # Maya is new too, but her words match what Lena states more than her newness counts.
    assert cards[0]["reason"] == "Because you're into system design"
    scheduled: dict[str, Any] = await people.learner.json("GET", "/api/sessions?tab=scheduled", 200)
    assert "reason" not in scheduled["sessions"][0], "only the Recommended tab explains its picks"
