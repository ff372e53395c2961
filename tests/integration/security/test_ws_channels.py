"""/ws channel names an attacker types: refused plainly, never a crashed socket."""

from __future__ import annotations

import pytest

from tests.support.api import ApiClient, sign_up


@pytest.mark.parametrize("key", ["²", "١", "1²"])
async def test_non_ascii_digit_channels_are_unknown_and_the_socket_lives_on(api: ApiClient, key: str) -> None:
    user = (await sign_up(api, "learner", "l@example.com"))["user"]
    async with api.client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "subscribe", "channel": f"notifications:{key}"})
        reply = await ws.receive_json(timeout=5)
        assert reply == {"type": "error", "error": "unknown channel", "channel": f"notifications:{key}"}
        await ws.send_json({"type": "subscribe", "channel": f"notifications:{user['id']}"})
        assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
