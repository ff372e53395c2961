"""Error shaping, CSRF protection and the protective headers of every response.

Headers are added in `on_response_prepare` (`protect_responses`), not in a middleware: that signal fires
for every response aiohttp sends for a routed request, including the JSON errors this module shapes, the
HTML error pages, 404/405/413 and the 500 aiohttp writes itself when a handler fails.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from web.config import Config
from web.errors import ApiError
from web.keys import CONFIG

log = logging.getLogger(__name__)

CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
CSRF_TOKEN: web.RequestKey[str] = web.RequestKey("csrf_token", str)
# Set when sign-in replaced the token: the response carries the new cookie.
CSRF_ROTATED: web.RequestKey[bool] = web.RequestKey("csrf_rotated", bool)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CSRF_EXEMPT_ATTR = "mentorlive_csrf_exempt"

H = TypeVar("H", bound=Callable[..., Any])


def csrf_exempt(handler: H) -> H:
    """Mark a route's handler as authenticated by other means (a signature) and carrying no cookie,
    so the double-submit check does not apply. The route declares it; this module knows no URL."""
    setattr(handler, _CSRF_EXEMPT_ATTR, True)
    return handler


def _is_csrf_exempt(request: web.Request) -> bool:
    return bool(getattr(request.match_info.handler, _CSRF_EXEMPT_ATTR, False))


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


def rotate_csrf(request: web.Request) -> str:
    """A new token for this browser (at sign-in): one planted or read before sign-in stops working."""
    token = secrets.token_urlsafe(24)
    request[CSRF_TOKEN] = token
    request[CSRF_ROTATED] = True
    return token


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Double-submit cookie: unsafe calls echo the csrf_token cookie in a header or form field."""
    if request.method in UNSAFE_METHODS and not _is_csrf_exempt(request):
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if request.content_type == "application/x-www-form-urlencoded":
                form = await request.post()
                sent = str(form.get(CSRF_FORM_FIELD, ""))
        if not cookie or not sent or not hmac.compare_digest(cookie, sent):
            raise ApiError(403, "Your page is out of date (missing security token). Reload and try again.")
    had_cookie = CSRF_COOKIE in request.cookies
    csrf_token_for(request)
    response = await handler(request)
    if (not had_cookie or request.get(CSRF_ROTATED)) and not response.prepared:
        # Readable by scripts on purpose: pages echo it in the X-CSRF-Token header.
        response.set_cookie(
            CSRF_COOKIE,
            request[CSRF_TOKEN],
            samesite="Lax",
            path="/",
            secure=secure_cookies(request.app[CONFIG]) if CONFIG in request.app else False,
        )
    return response


def secure_cookies(config: Config) -> bool:
    """Cookies only over TLS when the site is served over https (or `[web] cookie_secure` says so)."""
    return config.bool("web", "cookie_secure") or config.str("web", "public_url").lower().startswith("https://")


class ContentSecurity:
    """The Content-Security-Policy: the app's own scripts, styles, images, sockets and frames, plus the
    origins other parts register (Razorpay's Checkout, the sandbox's port once it listens, media nodes).

    No 'unsafe-inline' and no 'unsafe-eval' for scripts: pages load every script from /static, and the
    room's context is a `type="application/json"` block, which is data, not script.
    """

    BASE: dict[str, tuple[str, ...]] = {
        "default-src": ("'self'",),
        "script-src": ("'self'",),
        "style-src": ("'self'",),
        "img-src": ("'self'", "data:", "blob:"),
        "media-src": ("'self'", "blob:"),
        "font-src": ("'self'",),
        "connect-src": ("'self'",),
        "frame-src": ("'self'",),
        "worker-src": ("'self'", "blob:"),
        "object-src": ("'none'",),
        "base-uri": ("'self'",),
        "form-action": ("'self'",),
        "frame-ancestors": ("'self'",),
    }

    def __init__(self) -> None:
        self._extra: dict[str, list[str]] = {}
        self._header: str | None = None

    def allow(self, directive: str, *sources: str) -> None:
        known = self._extra.setdefault(directive, [])
        for source in sources:
            if source and source not in known and source not in self.BASE.get(directive, ()):
                known.append(source)
        self._header = None

    def header(self) -> str:
        if self._header is None:
            parts = []
            for directive, base in self.BASE.items():
                parts.append(" ".join((directive, *base, *self._extra.get(directive, ()))))
            for directive, sources in self._extra.items():
                if directive not in self.BASE:
                    parts.append(" ".join((directive, *sources)))
            self._header = "; ".join(parts)
        return self._header


def origin_of(url: str) -> str:
    parsed = URL(url)
    return str(parsed.origin()) if parsed.scheme and parsed.host else ""


def socket_origins(url: str) -> tuple[str, ...]:
    """An http(s) origin and its WebSocket twin, for connect-src (signaling on another media node)."""
    origin = origin_of(url)
    if not origin:
        return ()
    twin = "wss" + origin[5:] if origin.startswith("https") else "ws" + origin[4:] if origin.startswith("http") else ""
    return (origin, twin) if twin else (origin,)


CONTENT_SECURITY: web.AppKey[ContentSecurity] = web.AppKey("content_security", ContentSecurity)
# Paths whose answers are the same for everyone (may be cached); everything else may be personal.
PUBLIC_PREFIXES: web.AppKey[tuple[str, ...]] = web.AppKey("public_prefixes", tuple)


async def protect_responses(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every answer carries, errors included: no framing by other sites (clickjacking Cancel or
    Go Live through an invisible frame), no content sniffing, no scripts but ours, no full URLs (room
    codes) leaked to other sites, nothing personal kept in caches, and no server version."""
    headers = response.headers
    headers["Server"] = "MentorLive"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    security = request.app.get(CONTENT_SECURITY)
    headers.setdefault(
        "Content-Security-Policy", security.header() if security is not None else "frame-ancestors 'self'"
    )
    if not request.path.startswith(request.app.get(PUBLIC_PREFIXES, ("/static/",))):
        # Personal JSON and pages (dashboards, bookings, the room) must not outlive the tab in any cache.
        headers["Cache-Control"] = "no-store"


def _host_port(url: URL) -> tuple[str, int | None] | None:
    if url.scheme not in ("http", "https") or not url.host:
        return None
    return url.host.lower().rstrip("."), url.port


def same_origin(request: web.Request) -> bool:
    """False when a browser says the request comes from another site's page.

    A WebSocket upgrade carries the session cookie but no CSRF token, and browsers do not apply
    the same-origin policy to WebSockets: without this check any site a signed-in user visits could
    open /ws or /rtc as that user (Cross-Site WebSocket Hijacking). Browsers always send Origin on
    a WebSocket handshake; clients that send none (scripts, tests, other servers) hold no victim's
    cookie, so they pass. The origin must name this server's host and port, or `[web] public_url`.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        theirs = _host_port(URL(origin.strip()))
        if theirs is None:
            return False
        ours = {_host_port(URL(f"{URL(origin.strip()).scheme}://{request.host}"))}
        config = request.app.get(CONFIG)
        public_url = config.str("web", "public_url") if config is not None else ""
        if public_url:
            ours.add(_host_port(URL(public_url)))
    except (ValueError, TypeError):
        return False
    return theirs in ours


def refuse_cross_site(request: web.Request) -> None:
    """Raise 403 before a WebSocket upgrade that another site's page asked for."""
    if not same_origin(request):
        log.warning("refused a cross-site WebSocket to %s from Origin %r", request.path, request.headers.get("Origin"))
        raise web.HTTPForbidden(text="Cross-site WebSocket connections are not allowed.")
