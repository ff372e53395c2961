"""Handing a letter to the SMTP server named in `[email]` (the standard library's client, off the loop)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from web.mail.letters import Letter
from web.mail.settings import MailSettings


def build_message(letter: Letter, settings: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = letter.to
    message["Subject"] = letter.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.sender_address.rpartition("@")[2] or None)
    for name, value in letter.headers.items():
        message[name] = value
    message.set_content(letter.text)
    message.add_alternative(letter.html, subtype="html")
    if letter.calendar:
        method = letter.calendar_method or "REQUEST"
        # Inline as text/calendar with its METHOD (what mail clients turn into an invite), and as a file.
        message.add_alternative(letter.calendar, subtype="calendar", params={"method": method})
        message.add_attachment(letter.calendar.encode("utf-8"), maintype="application", subtype="ics",
                               filename="invite.ics")
    return message


def _send_now(message: EmailMessage, settings: MailSettings) -> None:
    if settings.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    with client:
        if settings.tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.user:
            client.login(settings.user, settings.password)
        client.send_message(message)


async def send(letter: Letter, settings: MailSettings) -> None:
    await asyncio.to_thread(_send_now, build_message(letter, settings), settings)
