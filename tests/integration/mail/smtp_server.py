"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, parsed as email messages."""

from __future__ import annotations

import email
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    received: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages()) >= count:
                return self.messages()
            time.sleep(0.02)
        raise AssertionError(f"expected {count} emails, got {len(self.messages())}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def part(message: EmailMessage, content_type: str) -> EmailMessage:
    for item in message.walk():
        if item.get_content_type() == content_type and not item.get_filename():
            assert isinstance(item, EmailMessage)
            return item
    raise AssertionError(f"no {content_type} part in {[p.get_content_type() for p in message.walk()]}")


def text_of(message: EmailMessage, content_type: str = "text/plain") -> str:
    return str(part(message, content_type).get_content())


def calendar_fields(ics: str) -> dict[str, str]:
    """The first value of every property of an iCalendar document (unfolded), by name without parameters."""
    assert "\r\n" in ics, "iCalendar lines end with CRLF"
    unfolded = ics.replace("\r\n ", "")
    fields: dict[str, str] = {}
    for line in unfolded.split("\r\n"):
        if ":" not in line:
            continue
        name, value = line.split(":", 1)
        fields.setdefault(name.split(";")[0], value)
    return fields
