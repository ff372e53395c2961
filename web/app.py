"""The application factory: builds every long-lived object once and wires the routes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from models.clock import Clock, SystemClock, iso_utc
from models.db import Database
from web import ops, pages
from web.accounts import endpoints as accounts_endpoints
from web.accounts.passwords import Passwords
from web.accounts.profile import photos_dir
from web.accounts.schemas import PHOTO_URL_PREFIX
from web.accounts.throttle import LoginThrottle, throttle_settings
from web.bookings import endpoints as bookings_endpoints
from web.bookings import tasks as bookings_tasks
from web.bookings.service import setup_bookings
from web.config import PROJECT_ROOT, Config, ensure_secret
from web.feedback import endpoints as feedback_endpoints
from web.http.query import address_text_middleware
from web.images import setup_images
from web.jobs import setup_jobs
from web.keys import CLOCK, CONFIG, DB, LOGIN_THROTTLE, METRICS, PASSWORDS, READINESS_CHECKS, SECRET
from web.live_requests import endpoints as live_requests_endpoints
from web.mail import tasks as mail_tasks
from web.mail.service import setup_mail
from web.mentors import page as mentors_page
from web.middlewares import (
    CONTENT_SECURITY,
    PUBLIC_PREFIXES,
    ContentSecurity,
    csrf_middleware,
    error_middleware,
    protect_responses,
    secure_cookies,
    socket_origins,
)
from web.past import endpoints as past_endpoints
from web.past.attendance import record_attendance
from web.payments import endpoints as payments_endpoints
from web.payments import tasks as payments_tasks
from web.payments.setup import setup_payments
from web.realtime import endpoints as realtime_endpoints
from web.realtime.keys import BUS
from web.realtime.setup import setup_realtime
from web.recommend import endpoints as recommend_endpoints
from web.recommend import tasks as recommend_tasks
from web.recommend.service import setup_recommend
from web.recordings import endpoints as recordings_endpoints
from web.recordings import tasks as recordings_tasks
from web.recordings.service import setup_recordings
from web.resources import endpoints as resources_endpoints
from web.room import archive_endpoints as room_archive_endpoints
from web.room import endpoints as room_endpoints
from web.room import page as room_page
from web.room import tasks as room_tasks
from web.room.allocation import setup_allocation
from web.room.archive import setup_room_archive
from web.room.ending import setup_room_ending
from web.room.presence import setup_room_presence
from web.room.sfu import setup_rtc
from web.sessions import endpoints as sessions_endpoints
from web.sessions import thumbnails
from web.templating import html_error_pages

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "web" / "static"
SESSION_COOKIE = "mentorlive_session"


def create_app(
    config: Config,
    *,
    clock: Clock | None = None,
    passwords: Passwords | None = None,
    database: Database | None = None,
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=8 * 1024 * 1024)
    secret = ensure_secret(config, "web", "secret", "secret.key")
    app[CONFIG] = config
    app[CLOCK] = clock or SystemClock()
    app[SECRET] = secret
    app[PASSWORDS] = passwords or Passwords()
    app[DB] = database or Database(config.database_url, echo=config.bool("database", "echo"))
    # First in, last out: everything cleaned up after it may still write (the room archive does).
    app.cleanup_ctx.append(_database_lifecycle)
    app[METRICS] = []
    app[READINESS_CHECKS] = {}
    app[LOGIN_THROTTLE] = LoginThrottle(app[DB], app[CLOCK], throttle_settings(config))

    cookie_key = hashlib.sha256(f"cookie:{secret}".encode()).digest()
    setup_session(
        app,
        EncryptedCookieStorage(
            cookie_key,
            cookie_name=SESSION_COOKIE,
            httponly=True,
            samesite="Lax",
            secure=secure_cookies(config),
            max_age=14 * 24 * 3600,
        ),
    )
    app.middlewares.append(csrf_middleware)
    app[CONTENT_SECURITY] = ContentSecurity()
    app[PUBLIC_PREFIXES] = ("/static/", thumbnails.URL_PREFIX, PHOTO_URL_PREFIX)
    app.on_response_prepare.append(protect_responses)
    # Pages may open signaling to this node's public URL and to the media nodes listed in
    # `[media] node_origins` (standalone nodes on other origins); the CSP refuses any other.
    for media_origin in [config.str("media", "public_url"), *config.list("media", "node_origins")]:
        if media_origin:
            app[CONTENT_SECURITY].allow("connect-src", *socket_origins(str(media_origin)))
    # Inside the cookie session, so a 404 page shows who is signed in like every other page.
    app.middlewares.append(html_error_pages)
    # After routing, before any handler: query parameters and path segments get the body's text check.
    app.middlewares.append(address_text_middleware)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
    )

    env.filters["iso_utc"] = iso_utc

    # Long-lived objects and the registrations through which lower domains reach higher ones.
    setup_jobs(app)
    setup_images(app)
    setup_realtime(app)
    setup_rtc(app)
    record_attendance(app)
    setup_room_presence(app)
    setup_room_ending(app)
    setup_room_archive(app)
    setup_recordings(app)
    setup_bookings(app)
    setup_payments(app)
    setup_recommend(app)
    setup_mail(app)
    setup_allocation(app)
    if config.str("redis", "url"):
        app[READINESS_CHECKS]["redis"] = app[BUS].ping

    # Job bodies, by name: a Celery worker builds this same app and runs the same code.
    bookings_tasks.register_tasks(app)
    room_tasks.register_tasks(app)
    payments_tasks.register_tasks(app)
    recordings_tasks.register_tasks(app)
    recommend_tasks.register_tasks(app)
    mail_tasks.register_tasks(app)

    # Every route of the platform, and nowhere else (tests/unit/test_boundaries.py keeps it so).
    app.router.add_routes(realtime_endpoints.routes)
    app.router.add_routes(payments_endpoints.routes)
    app.router.add_routes(ops.routes)
    app.router.add_routes(accounts_endpoints.routes)
    app.router.add_routes(pages.routes)
    app.router.add_routes(room_page.routes)
    app.router.add_routes(mentors_page.routes)
    app.router.add_routes(sessions_endpoints.routes)
    app.router.add_routes(room_endpoints.routes)
    app.router.add_routes(room_archive_endpoints.routes)
    app.router.add_routes(bookings_endpoints.routes)
    app.router.add_routes(live_requests_endpoints.routes)
    app.router.add_routes(feedback_endpoints.routes)
    app.router.add_routes(resources_endpoints.routes)
    app.router.add_routes(past_endpoints.routes)
    app.router.add_routes(recordings_endpoints.routes)
    app.router.add_routes(recommend_endpoints.routes)
    app.router.add_static(thumbnails.URL_PREFIX, thumbnails.thumbnails_dir(config))
    app.router.add_static(PHOTO_URL_PREFIX, photos_dir(config))
    app.router.add_static("/static", STATIC_DIR)
    app[aiohttp_jinja2.static_root_key] = "/static"
    return app


async def _database_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[DB].dispose()
