"""Numbers, ids and bodies an attacker controls: each is a clear 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.integration.sessions.helpers import session_fields
from tests.support.api import ApiClient, sign_up


async def _mentor(api: ApiClient) -> ApiClient:
    await sign_up(api, "mentor", "m@example.com")
    return api


@pytest.mark.parametrize("field", ["capacity", "duration_minutes", "price_paise"])
async def test_infinite_numbers_are_a_400(api: ApiClient, field: str) -> None:
    await _mentor(api)
    # Python's JSON reader turns 1e400 into float('inf'); int(inf) raises OverflowError.
    raw = '{"title": "Infinite seats", "domain_tags": ["python"], "start_at": "2030-01-01T10:00:00Z", "%s": 1e400}'
    response = await api.post("/api/sessions", data=raw % field, headers={"Content-Type": "application/json"})
    body = await response.json()
    assert response.status == 400, body
    assert body["field"] == field


@pytest.mark.parametrize("price", ["1e30", "99999999999999999999999999999.5", "1E+999999"])
async def test_huge_rupee_prices_are_a_400(api: ApiClient, price: str) -> None:
    await _mentor(api)
    fields = session_fields(price_rupees=price)
    del fields["price_paise"]
    body = await api.json("POST", "/api/sessions", 400, json=fields)
    assert body["field"] == "price_rupees"


@pytest.mark.parametrize("path", [
    "/api/sessions/99999999999999999999999",
    "/api/sessions/99999999999999999999999/bookings",
    "/api/mentors/99999999999999999999999",
])
async def test_out_of_range_ids_are_not_found(api: ApiClient, path: str) -> None:
    await sign_up(api, "mentor", "m@example.com")
    response = await api.get(path)
    assert response.status == 404, await response.text()


async def test_out_of_range_live_request_ids_are_not_found(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    response = await api.post("/api/live-requests/99999999999999999999999/accept")
    assert response.status == 404, await response.text()


async def test_out_of_range_mentor_id_in_a_live_request_is_a_400_or_404(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    response = await api.post("/api/live-requests", json={"mentor_id": 2**40, "topic": "Help me please"})
    assert response.status in (400, 404), await response.text()


async def test_deeply_nested_json_is_a_400(api: ApiClient) -> None:
    await api.ensure_csrf()
    body = "[" * 50_000 + "]" * 50_000
    response = await api.post("/api/auth/login", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()


async def test_oversized_json_body_is_a_413(api: ApiClient) -> None:
    await api.ensure_csrf()
    padding = "x" * (2 * 1024 * 1024)
    response = await api.post("/api/auth/login", json={"email": "a@example.com", "password": padding})
    assert response.status == 413, await response.text()
    assert "error" in await response.json()


async def test_many_multipart_parts_are_refused(api: ApiClient) -> None:
    import aiohttp

    await _mentor(api)
    def form_with(junk: int) -> aiohttp.FormData:
        form = aiohttp.FormData(default_to_multipart=True)
        for key, value in session_fields(domain_tags="python").items():
            form.add_field(key, str(value))
        for i in range(junk):
            form.add_field(f"junk{i}", "x" * 1000)
        return form

    # A real form has a dozen fields; without a cap, one request could send millions of them.
    response = await api.post("/api/sessions", data=form_with(5000))
    assert response.status in (400, 413), await response.text()
    assert (await api.post("/api/sessions", data=form_with(10))).status == 201


@pytest.mark.parametrize("ids", [[2**40], list(range(1, 40_001))])
async def test_marking_notifications_read_with_odd_ids_is_not_a_500(api: ApiClient, ids: list[int]) -> None:
    await sign_up(api, "learner", "l@example.com")
    response = await api.post("/api/notifications/read", json={"ids": ids})
    assert response.status in (200, 400, 413), await response.text()


async def test_resuming_checkout_for_an_out_of_range_session_is_not_found(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    response = await api.post("/api/payments/checkout", json={"session_id": 2**40})
    assert response.status == 404, await response.text()
