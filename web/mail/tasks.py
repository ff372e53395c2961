"""The `send_email` job: hand one queued letter to SMTP. A failure is retried by the dispatcher with
backoff; a letter is only marked done once the server took it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web.jobs import JOBS
from web.keys import CONFIG
from web.mail.service import SEND_EMAIL, letter_from_args
from web.mail.settings import mail_settings
from web.mail.smtp import send


def register_tasks(app: web.Application) -> None:
    async def send_email(args: dict[str, Any]) -> None:
        settings = mail_settings(app[CONFIG])
        if settings is None:
            # Email was switched off after the letter was queued: drop it rather than retry forever.
            return
        await send(letter_from_args(args), settings)

    app[JOBS].register(SEND_EMAIL, send_email)
