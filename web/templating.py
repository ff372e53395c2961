"""Rendering pages with what the layout needs: the signed-in user, the CSRF token, the request path.

Pages use `@page(...)` rather than aiohttp-jinja2's context processors: those run as a middleware on
every request, API calls included, and this context costs a database read for signed-in users.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from web.accounts import service as accounts
from web.http.identity import current_identity
from web.keys import DB
from web.middlewares import csrf_token_for

PageHandler = Callable[[web.Request], Awaitable[Mapping[str, Any]]]


async def layout_context(request: web.Request) -> dict[str, Any]:
    identity = await current_identity(request)
    user = await accounts.get_user(request.app[DB], identity.user_id) if identity else None
    return {
        "identity": identity,
        "user": user,
        "csrf_token": csrf_token_for(request),
        "path": request.path_qs,
        "dashboard_url": accounts.dashboard_for(user.role) if user else None,
    }


async def render_page(request: web.Request, template: str, context: Mapping[str, Any], *,
                      status: int = 200) -> web.Response:
    full = {**await layout_context(request), **context}
    return aiohttp_jinja2.render_template(template, request, full, status=status)


def page(template: str) -> Callable[[PageHandler], Callable[[web.Request], Awaitable[web.Response]]]:
    def decorate(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.Response:
            return await render_page(request, template, await handler(request))

        return wrapped

    return decorate


def with_article(noun: str) -> str:
    """ "an admin", "a learner": role names read as English in messages."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


async def not_found_page(request: web.Request, message: str) -> web.HTTPException:
    response = await render_page(request, "error.html", {"status": 404, "message": message}, status=404)
    return web.HTTPNotFound(body=response.body, content_type="text/html")


# Paths whose 404 stays plain: files and sockets, which no person reads as a page.
_PLAIN_404 = ("/api/", "/static/", "/media/", "/ws", "/rtc", "/sandbox/")


@web.middleware
async def html_error_pages(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                           ) -> web.StreamResponse:
    """A page address that matches nothing gets the site's styled 404 page, not aiohttp's bare text."""
    try:
        return await handler(request)
    except web.HTTPNotFound as exc:
        if (request.method not in ("GET", "HEAD") or request.path.startswith(_PLAIN_404)
                or exc.content_type == "text/html"):
            raise
        raise await not_found_page(request, "There is no page at this address.") from None


async def forbidden_page(request: web.Request, message: str) -> web.HTTPException:
    response = await render_page(request, "error.html", {"status": 403, "message": message}, status=403)
    return web.HTTPForbidden(body=response.body, content_type="text/html")
