"""Every long-lived object the app holds, under one typed key each.

Annotations are strings (PEP 563) so this module imports nothing heavy and
creates no import cycles; the objects themselves are built in web.app.create_app
and in the setup_* functions it calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from models.clock import Clock
    from models.db import Database
    from web.accounts.passwords import Passwords
    from web.accounts.throttle import LoginThrottle
    from web.config import Config

CONFIG: web.AppKey[Config] = web.AppKey("config")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DB: web.AppKey[Database] = web.AppKey("db")
SECRET: web.AppKey[str] = web.AppKey("secret")
# Each provider returns Prometheus exposition lines for /metrics.
METRICS: web.AppKey[list[Callable[[], str]]] = web.AppKey("metrics")
PASSWORDS: web.AppKey[Passwords] = web.AppKey("passwords")
LOGIN_THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
# Named async checks /readyz runs besides the database (e.g. "redis").
READINESS_CHECKS: web.AppKey[dict[str, Callable[[], Awaitable[object]]]] = web.AppKey("readiness_checks")
