"""The emailed "sign in without waiting" link, through a real SMTP server: an account guessed at from many
addresses is slowed for everyone, but its owner, with the mailbox, signs in at once from the link's browser."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import TCPConnector
from aiohttp.test_utils import TestClient

from tests.integration.mail.smtp_server import SmtpServer, text_of
from tests.support.api import ApiClient, sign_up
from web.jobs import JOB_RUNNER
from web.keys import CONFIG


async def test_the_emailed_link_lets_the_owner_in_while_the_account_is_slowed(api: ApiClient, smtp: SmtpServer) -> None:
    await sign_up(api, "learner", "owner@example.com")
    await api.post("/api/auth/logout")
    free = api.app[CONFIG].int("auth", "account_free_failures")
    clients: list[TestClient[Any, Any]] = []

    async def browser(address: str) -> ApiClient:
        client: TestClient[Any, Any] = TestClient(api.client.server, connector=TCPConnector(local_addr=(address, 0)))
        await client.start_server()
        clients.append(client)
        return ApiClient(client)

    try:
        for i in range(free):
            guesser = await browser(f"127.0.3.{i + 1}")
            await guesser.json(
                "POST", "/api/auth/login", 401, json={"email": "owner@example.com", "password": f"guess{i:03d}x"}
            )
        owner = await browser("127.0.4.1")
        credentials = {"email": "owner@example.com", "password": "learn1234"}
        await owner.json("POST", "/api/auth/login", 429, json=credentials)

        await api.app[JOB_RUNNER].run_due()
        [letter] = smtp.inbox.wait_for(1)
        assert letter["To"] == "owner@example.com"
        assert "Sign-in attempts" in letter["Subject"]
        link = re.search(r"http://\S+/login/unlock\?token=[\w.\-]+", text_of(letter))
        assert link is not None
        path = link.group(0).split("/", 3)[3]
        opened = await owner.client.get("/" + path, allow_redirects=False)
        assert opened.status == 303 and opened.headers["Location"] == "/login?unlocked=1"
        assert "may now sign in without waiting" in await (await owner.client.get("/login?unlocked=1")).text()
        body = await owner.json("POST", "/api/auth/login", 200, json=credentials)
        assert body["redirect"] == "/dashboard/learner"

        # A forged or altered token does nothing.
        stranger = await browser("127.0.4.2")
        forged = await stranger.client.get("/login/unlock?token=1.9999999999.forged", allow_redirects=False)
        assert forged.headers["Location"] == "/login?unlock=expired"
    finally:
        for client in clients:
            await client.session.close()
