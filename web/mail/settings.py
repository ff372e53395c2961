"""`[email]`: where mail goes out (SMTP host, port, TLS, login) and who it is from."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from web.config import Config

TLS_MODES = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    tls: str
    user: str
    password: str
    sender: str  # "MentorLive <no-reply@example.com>"
    timeout_seconds: float = 20.0

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1] or self.sender


def mail_settings(config: Config) -> MailSettings | None:
    """The SMTP settings, or None while `[email] host` is empty (email is off)."""
    host = config.str("email", "host").strip()
    if not host:
        return None
    tls = config.str("email", "tls").strip().lower()
    if tls not in TLS_MODES:
        raise ValueError(f"[email] tls must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    return MailSettings(host=host, port=config.int("email", "port"), tls=tls, user=config.str("email", "user"),
                        password=config.str("email", "password"), sender=config.str("email", "from"))


def public_origin(config: Config) -> str:
    """The origin links in emails use: `[web] public_url`, else this server's host and port."""
    configured = config.str("web", "public_url").strip().rstrip("/")
    if configured:
        return configured
    return f"http://{config.str('web', 'host')}:{config.int('web', 'port')}"
