"""CSRF, cookies, page access by role, JSON errors, operator endpoints."""

from __future__ import annotations

from yarl import URL

from tests.support.api import LEARNER_FIELDS, ApiClient, sign_up
from web.keys import CONFIG


async def test_unsafe_api_call_without_csrf_header_is_refused(api: ApiClient) -> None:
    await api.ensure_csrf()
    response = await api.client.post("/api/auth/signup", json={**LEARNER_FIELDS, "email": "a@example.com"})
    assert response.status == 403
    assert "security token" in (await response.json())["error"]
    forged = await api.client.post("/api/auth/signup", json={**LEARNER_FIELDS, "email": "a@example.com"},
                                   headers={"X-CSRF-Token": "forged"})
    assert forged.status == 403
    assert (await api.get("/api/me")).status == 401


async def test_every_response_sets_the_csrf_cookie_and_session_cookie_is_httponly(api: ApiClient) -> None:
    first = await api.client.get("/")
    assert "csrf_token" in first.cookies
    signup = await api.post("/api/auth/signup", json={**LEARNER_FIELDS, "email": "c@example.com"})
    cookie_header = ";".join(signup.headers.getall("Set-Cookie"))
    assert "mentorlive_session=" in cookie_header
    assert "HttpOnly" in cookie_header
    assert "SameSite=Lax" in cookie_header


async def test_dashboards_send_signed_out_users_to_login_with_next(api: ApiClient) -> None:
    response = await api.client.get("/dashboard/mentor", allow_redirects=False)
    assert response.status == 302
    location = URL(response.headers["Location"])
    assert location.path == "/login"
    assert location.query["next"] == "/dashboard/mentor"


async def test_dashboards_refuse_other_roles_with_a_403_page(api: ApiClient) -> None:
    await sign_up(api, "learner", "l@example.com")
    for path in ("/dashboard/mentor", "/dashboard/admin"):
        response = await api.get(path)
        assert response.status == 403
        text = await response.text()
        assert "You are signed in as a learner" in text
        assert 'id="toasts"' in text


async def test_landing_lists_sessions_and_protected_ctas(api: ApiClient) -> None:
    text = await (await api.get("/")).text()
    assert 'id="auth-selector"' in text
    assert "I already have an account" in text
    assert 'data-protected="go-live"' in text


async def test_signed_in_user_visiting_login_goes_to_dashboard(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    response = await api.client.get("/login", allow_redirects=False)
    assert response.headers["Location"] == "/dashboard/mentor"


async def test_unknown_api_path_is_json_404(api: ApiClient) -> None:
    response = await api.get("/api/nothing-here")
    assert response.status == 404
    assert "error" in await response.json()


async def test_health_and_readiness(api: ApiClient) -> None:
    assert (await api.json("GET", "/healthz", 200))["status"] == "ok"
    ready = await api.json("GET", "/readyz", 200)
    assert ready["checks"]["database"] == "ok"
    metrics = await (await api.get("/metrics")).text()
    assert "mentorlive_up 1" in metrics


async def test_create_session_form_follows_record_by_default(api: ApiClient) -> None:
    await sign_up(api, "mentor", "m@example.com")
    page = await (await api.get("/dashboard/mentor")).text()
    assert 'name="record" role="switch">' in page
    api.app[CONFIG].sections["media"]["record_by_default"] = True
    page = await (await api.get("/dashboard/mentor")).text()
    assert 'name="record" role="switch" checked>' in page
