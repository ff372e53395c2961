"""What every template sees: the signed-in user, the CSRF token, the request path."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web import accounts
from web.identity import current_identity
from web.keys import DB
from web.middlewares import csrf_token_for


async def template_context(request: web.Request) -> dict[str, Any]:
    identity = await current_identity(request)
    user = await accounts.get_user(request.app[DB], identity.user_id) if identity else None
    return {
        "identity": identity,
        "user": user,
        "csrf_token": csrf_token_for(request),
        "path": request.path_qs,
        "dashboard_url": accounts.dashboard_for(user.role) if user else None,
    }
