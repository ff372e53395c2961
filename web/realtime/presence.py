"""The presence hook: how the hub tells the app who is following a channel "in person".

The hub stays domain-free: it only reports that a socket asked to be present on a channel it
may follow (`{"type": "subscribe", ..., "presence": true}`) and that it stopped (unsubscribe,
revoked access, socket closed). What presence means (a learner waiting in a room's lobby) is
decided by the hook the app registers under `web.realtime.keys.PRESENCE`.

The hub guarantees, per socket and channel: `arrived` completes before `departed` is called,
`departed` follows every `arrived` exactly once, and neither is called for a subscription that
was refused. `socket` is an opaque object, the same for every call about one socket.
"""

from __future__ import annotations

from typing import Protocol

from web.http.identity import Identity


class PresenceHook(Protocol):
    async def arrived(self, socket: object, identity: Identity, channel: str) -> None: ...

    async def departed(self, socket: object, identity: Identity, channel: str) -> None: ...
