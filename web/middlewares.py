"""Error shaping and CSRF protection for every request."""

from __future__ import annotations

import hmac
import logging
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from web.errors import ApiError

log = logging.getLogger(__name__)

CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
CSRF_TOKEN: web.RequestKey[str] = web.RequestKey("csrf_token", str)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Authenticated by Razorpay's signature alone: it carries no cookie.
CSRF_EXEMPT_PATHS = frozenset({"/api/payments/webhook"})


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException as exc:
        if not _is_api(request) or exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        return web.json_response({"error": message}, status=exc.status, headers=_passthrough(exc))
    except Exception:
        if not _is_api(request):
            raise
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "Something went wrong on our side. Please try again."}, status=500)


def _passthrough(exc: web.HTTPException) -> dict[str, str]:
    keep = ("Retry-After", "Allow", "Location")
    return {k: v for k, v in exc.headers.items() if k in keep}


def csrf_token_for(request: web.Request) -> str:
    token = request.get(CSRF_TOKEN)
    if token is not None:
        return token
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    request[CSRF_TOKEN] = token
    return token


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Double-submit cookie: unsafe calls echo the csrf_token cookie in a header or form field."""
    if request.method in UNSAFE_METHODS and request.path not in CSRF_EXEMPT_PATHS:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if request.content_type == "application/x-www-form-urlencoded":
                form = await request.post()
                sent = str(form.get(CSRF_FORM_FIELD, ""))
        if not cookie or not sent or not hmac.compare_digest(cookie, sent):
            raise ApiError(403, "Your page is out of date (missing security token). Reload and try again.")
    had_cookie = CSRF_COOKIE in request.cookies
    token = csrf_token_for(request)
    response = await handler(request)
    if not had_cookie and not response.prepared:
        # Readable by scripts on purpose: pages echo it in the X-CSRF-Token header.
        response.set_cookie(CSRF_COOKIE, token, samesite="Lax", path="/")
    return response
