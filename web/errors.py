"""API errors: every failure under /api/ answers {"error": message} with a fitting status."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, message, field=field)


def conflict(message: str, field: str | None = None, **extra: Any) -> ApiError:
    return ApiError(409, message, field=field, **extra)


def forbidden(message: str = "You are not allowed to do that.") -> ApiError:
    return ApiError(403, message)


def not_found(message: str = "Not found.") -> ApiError:
    return ApiError(404, message)


def unauthorized(message: str = "Please sign in first.") -> ApiError:
    return ApiError(401, message)
