"""A test client that behaves like the pages: it echoes the csrf_token cookie on unsafe calls."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from web.middlewares import CSRF_COOKIE, CSRF_HEADER


class ApiClient:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    @property
    def app(self) -> Any:
        return self.client.app

    def csrf(self) -> str:
        for cookie in self.client.session.cookie_jar:
            if cookie.key == CSRF_COOKIE:
                return cookie.value
        return ""

    async def ensure_csrf(self) -> None:
        if not self.csrf():
            await self.client.get("/healthz")

    async def request(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        if method not in ("GET", "HEAD"):
            await self.ensure_csrf()
            headers = dict(kwargs.pop("headers", {}) or {})
            headers.setdefault(CSRF_HEADER, self.csrf())
            kwargs["headers"] = headers
        return await self.client.request(method, path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("DELETE", path, **kwargs)

    async def json(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        body = await response.json()
        assert response.status == expect, f"{method} {path}: {response.status} {body}"
        return body


LEARNER_FIELDS: dict[str, Any] = {
    "role": "learner", "name": "Lena Learner", "password": "learn1234", "headline": "Student",
    "experience_level": "beginner", "timezone": "Asia/Kolkata", "interests": ["python", "system design"],
    "goals": "Get a backend job", "accept_terms": True,
}
MENTOR_FIELDS: dict[str, Any] = {
    "role": "mentor", "name": "Maya Mentor", "password": "mentor1234", "headline": "Principal engineer",
    "bio": "Twenty years of building distributed systems.", "years_experience": 20, "timezone": "Asia/Kolkata",
    "expertise": ["system design", "python"], "default_duration_minutes": 60, "default_price_paise": 0,
    "payout_method": "upi", "payout_account": "maya@okbank", "accept_terms": True,
}


async def sign_up(api: ApiClient, role: str, email: str, **overrides: Any) -> dict[str, Any]:
    fields = dict(LEARNER_FIELDS if role == "learner" else MENTOR_FIELDS)
    fields.update(email=email, **overrides)
    return await api.json("POST", "/api/auth/signup", 201, json=fields)
