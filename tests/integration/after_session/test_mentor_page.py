"""A mentor's public page (/mentors/{id}) and the profile they edit from their dashboard."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from aiohttp import FormData
from PIL import Image

from models.clock import ManualClock
from tests.integration.after_session.cast import Cast, iso, run_session, user_id
from tests.integration.sessions.helpers import create_session, png_bytes
from tests.support.api import ApiClient


async def page(client: ApiClient, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text: str = await response.text()
    assert response.status == status, f"{path}: {response.status}"
    return text


async def test_mentor_page_shows_profile_rating_comments_and_upcoming_sessions(cast: Cast, clock: ManualClock) -> None:
    mentor_id = await user_id(cast.mentor)
    ended = await run_session(cast, clock, title="Past session")
    await cast.learner.json("POST", f"/api/sessions/{ended['id']}/feedback", 201,
                            json={"rating": 4, "comment": "Clear answers about idempotency."})
    upcoming = await create_session(cast.mentor, title="Designing queues",
                                    start_at=iso(clock.now() + timedelta(days=1)))
    paid = await create_session(cast.mentor, title="Paid review", price_paise=49900,
                                start_at=iso(clock.now() + timedelta(days=2)))
    await cast.learner.json("POST", f"/api/sessions/{upcoming['id']}/bookings", 201)

    html = await page(cast.anonymous, f"/mentors/{mentor_id}")
    assert "Maya Mentor" in html and "Principal engineer" in html
    assert "Twenty years of building distributed systems." in html
    assert "20 years of experience" in html
    assert re.search(r'<span class="tag">system design</span>', html)
    assert "★ 4.0 · 1 rating" in html
    assert "Clear answers about idempotency." in html and "<strong>Lena</strong>" in html, "first name only"
    assert "Designing queues" in html and "Paid review" in html and "₹499.00" in html
    assert "Past session" not in html.split('id="mentor-sessions"')[1].split("</section>")[0], "ended: not on offer"
    assert f'data-next="/dashboard/learner?book={paid["id"]}"' in html, "Book ▶ for a signed-out visitor"
    assert f'data-next="/dashboard/learner?request_live={mentor_id}"' in html, "Request Live ▶"
    assert 'id="share-url" href="http://127.0.0.1:' in html and f'/mentors/{mentor_id}"' in html, "shareable link"
    assert 'id="mentor-initials">MM<' in html, "initials while there is no photo"

    learner_view = await page(cast.learner, f"/mentors/{mentor_id}")
    assert "Booked ✔" in learner_view, "the learner's own booking shows as booked"
    mentor_view = await page(cast.mentor, f"/mentors/{mentor_id}")
    assert "Edit your profile" in mentor_view and "Request Live ▶" not in mentor_view


async def test_unknown_or_non_mentor_ids_are_a_404_page(cast: Cast) -> None:
    learner_id = await user_id(cast.learner)
    for path in (f"/mentors/{learner_id}", "/mentors/999999", "/mentors/99999999999999"):
        html = await page(cast.anonymous, path, 404)
        assert "There is no such mentor." in html


async def test_every_card_links_the_mentor_name_to_their_page(cast: Cast, clock: ManualClock) -> None:
    mentor_id = await user_id(cast.mentor)
    await create_session(cast.mentor, title="Linked", start_at=iso(clock.now() + timedelta(days=1)))
    listed = await cast.learner.json("GET", "/api/sessions?tab=scheduled", 200)
    assert listed["sessions"][0]["mentor"]["profile_url"] == f"/mentors/{mentor_id}"
    landing = await page(cast.anonymous, "/")
    assert f'<a class="mentor-link" data-testid="mentor-link" href="/mentors/{mentor_id}">' in landing
    profile = await cast.anonymous.json("GET", f"/api/mentors/{mentor_id}", 200)
    assert profile["profile"]["profile_url"] == f"/mentors/{mentor_id}"


async def test_mentor_edits_profile_with_a_photo_judged_and_resized(cast: Cast) -> None:
    mentor_id = await user_id(cast.mentor)
    form = FormData()
    form.add_field("headline", "Staff engineer, payments")
    form.add_field("bio", "I help people ship.")
    form.add_field("years_experience", "12")
    form.add_field("expertise", "payments, Python")
    form.add_field("photo", png_bytes(1600, 900), filename="me.png", content_type="image/png")
    body = await cast.mentor.json("PATCH", "/api/mentors/me", 200, data=form)
    mentor = body["profile"]
    assert (mentor["headline"], mentor["years_experience"], mentor["expertise"]) == (
        "Staff engineer, payments", 12, ["payments", "python"])
    photo = await cast.anonymous.get(mentor["photo_url"])
    assert photo.status == 200
    with Image.open(io.BytesIO(await photo.read())) as image:
        assert (image.format, image.size) == ("JPEG", (320, 320)), "re-encoded, cropped square"
    html = await page(cast.anonymous, f"/mentors/{mentor_id}")
    assert f'src="{mentor["photo_url"]}"' in html and "Staff engineer, payments" in html

    bad = FormData()
    bad.add_field("headline", "Should not be saved")
    bad.add_field("photo", b"GIF89a not really", filename="x.gif", content_type="image/gif")
    refused = await cast.mentor.json("PATCH", "/api/mentors/me", 400, data=bad)
    assert refused["field"] == "photo"
    again = await cast.anonymous.json("GET", f"/api/mentors/{mentor_id}", 200)
    assert again["mentor"]["headline"] == "Staff engineer, payments", "a refused form changes nothing"

    await cast.mentor.json("PATCH", "/api/mentors/me", 200, json={"remove_photo": True})
    assert (await cast.anonymous.get(mentor["photo_url"])).status == 404, "the old file is gone"

    for who, status in ((cast.learner, 403), (cast.anonymous, 401)):
        await who.json("PATCH", "/api/mentors/me", status, json={"headline": "x"})
    await cast.mentor.json("PATCH", "/api/mentors/me", 400, json={"years_experience": 99})
